"""What the control plane leaves for the tick agent and the readiness gate.

Apart from ``streams/control.py`` so that the worker context (``streams/worker_context.py``)
can hold it without importing the control plane, which is one of the stages.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer

    from geo.fence_sets import CompiledFenceSet
    from streams.control_keyring import Keyring


@dataclass
class ControlState:
    """What the control plane leaves for the tick agent and the readiness gate."""

    ready: asyncio.Event = field(default_factory=asyncio.Event)
    removed_rules: list[str] = field(default_factory=list)
    fence_changes: list[tuple[CompiledFenceSet | None, CompiledFenceSet]] = field(
        default_factory=list
    )
    producer: AIOKafkaProducer | None = None
    keyring: Keyring | None = None  # loaded by the runner before start (a bad file stops it)
    signed_at: dict[tuple[str, str], str] = field(default_factory=dict)
    """(topic, name) → signing time of the latest record accepted: older ones are replays."""
