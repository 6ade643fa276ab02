"""What a worker's stages are given: one context, built whole by ``streams/app.py``.

The stages (ingest, scoring, warnings, tasks, feedback, timers, the control plane, the API)
used to read ``app.riskloop_*`` attributes that ``build_app`` set on the Faust app after
constructing it, so each of them imported ``streams.app`` for its type and ``streams.app``
imported them all to wire the agents: one import circle of eighteen modules, where any
stage could reach any other through the app. Now ``streams/app.py`` builds this context and
passes it to the stages it wires; this module imports none of them, and nothing below
``streams/app.py`` imports ``streams/app.py`` (``tests/unit/test_layers.py`` keeps it so).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from streams.control_state import ControlState

if TYPE_CHECKING:
    from collections.abc import Sequence

    import faust
    from pydantic import BaseModel

    from config.settings import Settings
    from schemas.dedup import DedupWindow
    from streams.checkpoint import Checkpoint
    from streams.due import Summaries
    from streams.producer import WorkerProducer
    from streams.runtime import Runtime
    from streams.state import Store
    from streams.tables import Tables
    from streams.topics import Topics


class Sinks(Protocol):
    """The SQL and Redis sinks as the stages and the checkpoint use them (``streams.worker_sinks``)."""

    async def add(self, records: Sequence[BaseModel]) -> None:
        """Store sink copies in the outboxes: the checkpoint's buffer of absorbed events' copies
        (streams/sink_buffer.py), in one transaction per sink (may raise ``OutboxFull``)."""

    async def drain(self, timeout: float) -> bool:  # noqa: ASYNC109 (as Outputs.drain)
        """Write what the sinks hold, waiting at most ``timeout`` s; True if they are empty."""


class BrokerState(Protocol):
    """What readiness asks of the broker probe (``streams.health.BrokerProbe``)."""

    error: str

    def reachable(self) -> bool:
        """True if the broker answered a metadata request recently."""


@dataclass
class WorkerContext:
    """One worker's tables, hot-loaded parts (``runtime``: clock, metrics, packs, models),
    settings, topics and the Faust app its agents run on (for sending and registering).

    ``sinks`` is None where nothing is stored outside Kafka (tests, the benchmark's
    pass-through); ``broker`` is None until ``streams.health.install`` starts probing."""

    app: faust.App
    settings: Settings
    topics: Topics
    runtime: Runtime
    store: Store
    tables: Tables
    checkpoint: Checkpoint
    dedup: DedupWindow
    producer: WorkerProducer
    """The one producer of the worker's outputs and changelog (streams/producer.py)."""
    control: ControlState = field(default_factory=ControlState)
    sinks: Sinks | None = None
    broker: BrokerState | None = None
    due: dict[str, Summaries[Any]] = field(default_factory=dict)
    """``<table>:<partition>`` → due times or task briefs (streams/due.py, ``summaries``)."""
