"""Pages as HTML: one Jinja2 environment with autoescaping on for every template.

Autoescaping is what keeps whatever a person typed (a filter, a silence reason) inert when it
is shown back; no template marks user text ``|safe``. Every page gets the person, their CSRF
token and the navigation they may use (``console.pages.NAV``) without its handler passing them.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from console import labels
from console.keys import TEMPLATES

TEMPLATE_DIR = Path(__file__).parent / "templates"
ZONE = ZoneInfo("Asia/Shanghai")


def environment() -> Environment:
    """Templates from ``console/templates``; autoescape for every name, not by extension."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["beijing"] = beijing_time
    labels.install(env.filters)
    return env


def beijing_time(value: Any) -> str:
    """An instant (ISO text or datetime) as Beijing wall time, ``2026-12-02 21:05:03``.

    >>> beijing_time("2026-12-02T13:05:03+00:00")
    '2026-12-02 21:05:03'
    >>> beijing_time(None)
    ''
    """
    if value in (None, ""):
        return ""
    try:
        at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if at.tzinfo is None:
        return at.strftime("%Y-%m-%d %H:%M:%S")
    return at.astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S")


def page_context(request: web.Request) -> dict[str, Any]:
    """What every page's template may use: the person, the CSRF token, the navigation."""
    from console.pages import visible_nav

    person = request.get("person")
    return {
        "person": person,
        "csrf": request.get("csrf", ""),
        "nav": visible_nav(person, request) if person is not None else [],
        "path": request.path,
        "error": None,
        "notice": None,
    }


def html(request: web.Request, template: str, *, status: int = 200, **values: Any) -> str:
    """The rendered text of ``template`` with the page context and ``values``."""
    env = request.app[TEMPLATES]
    return env.get_template(template).render({**page_context(request), **values})


def render(
    request: web.Request, template: str, *, status: int = 200, **values: Any
) -> web.Response:
    """A page: ``template`` rendered with the page context and ``values``."""
    return web.Response(
        text=html(request, template, **values), status=status, content_type="text/html"
    )


def problem(request: web.Request, status: int, title: str, reason: str) -> web.Response:
    """An error page a person can read: what happened and why, never a traceback."""
    return render(request, "problem.html", status=status, title=title, reason=reason)
