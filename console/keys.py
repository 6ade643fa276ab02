"""What the console's handlers share, as typed aiohttp application keys (one place, no globals)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from jinja2 import Environment

from config.settings import Settings
from loop.loop_config import LoopConfig

if TYPE_CHECKING:
    from console.auth import Gate
    from console.backend import Backend
    from console.live import LiveFeed
    from console.rulebook import Rulebook

SETTINGS = web.AppKey("settings", Settings)
TEMPLATES = web.AppKey("templates", Environment)
GATE: web.AppKey[Gate] = web.AppKey("gate")
BACKEND: web.AppKey[Backend] = web.AppKey("backend")
LIVE: web.AppKey[LiveFeed] = web.AppKey("live")
RULEBOOK: web.AppKey[Rulebook] = web.AppKey("rulebook")
LOOP = web.AppKey("loop", LoopConfig)
