"""What one worker holds besides its Faust tables: settings, metrics and the hot-loadable parts.

Rule packs, fence sets and silences are immutable compiled objects behind one reference each;
a hot-load swaps the reference between two events (agents are coroutines on one event loop,
so no event ever sees half of a swap), and every hit records which version produced it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from config.settings import PROJECT_ROOT, Settings
from geo.fence_sets import CompiledFenceSet, load_fence_set
from loop.loop_config import LoopConfig, load_loop_config
from loop.notify.config import NotifyConfig
from loop.notify.config import from_settings as load_notify
from loop.routing import RoutingTable, load_table
from rules.compiler import load_pack
from rules.pack_registry import PackRegistry
from schemas.catalogue import Catalogue, catalogue_for
from schemas.hotload import Registry
from schemas.ingest import IngestLimits
from streams.clocks import EventClocks
from streams.logs import get_logger
from streams.metrics import Metrics

if TYPE_CHECKING:
    from collections.abc import Iterator

    from loop.silences import Silence
    from models.drift import DriftEvent
    from models.publication import ModelPublication
    from rules.engine import RuleEngine
    from schemas.records import Complaint, Record
    from schemas.scores import ModelScore
    from schemas.sealing import Sealer

log = get_logger(__name__)


@dataclass
class Clock:
    """Wall-clock time, optionally running faster (``speed``) from the moment it was made.

    Deadline tests run the worker with a fast clock so that 催办/督办 come in seconds; every
    time-dependent decision in a worker reads this clock, never ``datetime.now`` directly.
    """

    speed: float = 1.0
    origin_wall: float = field(default_factory=time.time)
    origin_mono: float = field(default_factory=time.monotonic)

    @classmethod
    def starting(cls, start: datetime | None, speed: float = 1.0) -> Clock:
        """A clock that reads ``start`` now (``RISKLOOP_CLOCK_START``, for drills and tests:
        what the worker does on 2027-02-10 can be seen today) and runs at ``speed``."""
        if start is None:
            return cls(speed=speed)
        aware = start if start.tzinfo is not None else start.replace(tzinfo=UTC)
        return cls(speed=speed, origin_wall=aware.timestamp())

    def __post_init__(self) -> None:
        self._origin = datetime.fromtimestamp(self.origin_wall, UTC)
        """``origin_wall`` as a datetime, made once: :meth:`now` runs several times an event."""

    def now(self) -> datetime:
        """The clock's time: wall time at ``origin_wall`` plus the monotonic time since, times
        ``speed`` (so a jump of the system clock does not move deadlines)."""
        return self._origin + timedelta(seconds=(time.monotonic() - self.origin_mono) * self.speed)


def _fence_registry() -> Registry[CompiledFenceSet]:
    """Fence sets by name, no history kept: a rollback republishes the older version
    (``streams.publish``), which every worker then compiles afresh."""
    return Registry(version=_fence_version, keep=0)


def _silence_registry() -> Registry[Silence]:
    """Silences by id, no history: an expiry or a change is a new record of the same id."""
    return Registry(version=_silence_version, keep=0)


def _fence_version(fences: CompiledFenceSet) -> str:
    return fences.version


def _silence_version(silence: Silence) -> str:
    return silence.ends_at.isoformat()


class Models(Protocol):
    """The online models a worker scores with and teaches: ``streams.model_state.PartitionModels``
    in a worker (one copy per partition, in its checkpoint), ``models.worker_models.WorkerModels``
    where one copy will do (tests, backtests)."""

    def versions(self) -> dict[str, str]:
        """Model name → active version."""

    def add(self, pub: ModelPublication) -> None:
        """Hot-load a published version (raises ``PublicationRejected``)."""

    def process(self, source: str, record: Record, *, learn: bool = True) -> Iterator[ModelScore]:
        """Score ``record`` with every model of ``source`` (and learn from it, unless not)."""

    def note_nearby(self, at: datetime, lat: float, lon: float) -> None:
        """Count a located complaint near premises (its copy for this partition)."""

    def learn_label(self, name: str, features: dict[str, float], confirmed: bool) -> None:
        """Teach model ``name`` a disposal's label for the features it scored."""

    def learn_example(self, name: str, record: Complaint) -> bool:
        """Teach the classifier ``name`` a corrected example; False if it has none."""

    def observe_disposition(self, name: str, confirmed: bool) -> DriftEvent | None:
        """Feed a disposal to the model's drift monitor."""

    def pop_drift_events(self) -> list[DriftEvent]:
        """The drift events found since the last call."""


@dataclass
class Runtime:
    """Per-worker state that is not in a table; built once by ``build_runtime``."""

    settings: Settings
    metrics: Metrics
    clock: Clock
    limits: IngestLimits
    catalogue: Catalogue
    packs: PackRegistry
    loop: LoopConfig
    routing: RoutingTable
    sealer: Sealer | None = None  # dead-letter originals: sealed under the operators' key
    notify: NotifyConfig | None = None  # receivers and routes; None: nobody is notified
    fence_sets: Registry[CompiledFenceSet] = field(default_factory=_fence_registry)
    silence_registry: Registry[Silence] = field(default_factory=_silence_registry)
    models: Models | None = None
    worker_id: str = ""
    task_counts: dict[int, tuple[dict[str, int], dict[str, int]]] = field(default_factory=dict)
    cleanup_done: dict[int, tuple[int, int]] = field(default_factory=dict)
    event_watermark: float = 0.0  # newest event time seen: dedup expires by event time
    event_clocks: EventClocks = field(default_factory=EventClocks)  # absence, silent trucks
    clocks_sent: dict[int, dict[str, float]] = field(default_factory=dict)  # last clock tick
    # (partition, a clock tick's bytes) → the last absence key that tick has fired so far,
    # while its keys are gone through a chunk per tick (streams/timers.py ``_chunk``)
    tick_cursors: dict[tuple[int, bytes], str] = field(default_factory=dict)

    def release(self, partitions: set[int]) -> None:
        """Forget what this worker kept of ``partitions`` outside tables (they were revoked):
        a tick round's place, whose tick the next owner starts over, would otherwise stay
        here for as long as the worker lives."""
        for key in [k for k in self.tick_cursors if k[0] in partitions]:
            del self.tick_cursors[key]

    @property
    def silences(self) -> list[Silence]:
        """The silences in force here, oldest published first (a re-published one last)."""
        return list(self.silence_registry.active.values())

    @property
    def engine(self) -> RuleEngine:
        """The rule engine of the active packs, rebuilt only after a swap."""
        return self.packs.engine()

    def active_versions(self) -> dict[str, dict[str, str]]:
        """Kind → name → version of everything hot-loadable that is active here."""
        out: dict[str, dict[str, str]] = {
            "rulepack": self.packs.status(),
            "fenceset": self.fence_sets.status(),
            "calendar": {
                str(y): c.content_hash()[7:19] for y, c in self.loop.calendar.official.items()
            },
        }
        if self.models is not None:
            out["model"] = dict(self.models.versions())
        return out


def shipped_fence_sets(folder: Path) -> list[CompiledFenceSet]:
    """The fence sets shipped in ``folder``, compiled, in file-name order: what a worker starts
    with before any fence set is published."""
    return [load_fence_set(p) for p in sorted(folder.glob("*.geojson"))]


def deadletter_sealer(settings: Settings) -> Sealer | None:
    """The sealer of dead-letter originals, or None (and a warning: they will be plain)."""
    from streams.deadletters import sealer_of

    sealer = sealer_of(settings)
    if sealer is None:
        log.warning("dead-letter originals will be written unsealed: set RISKLOOP_DEADLETTER_KEY")
    return sealer


def build_runtime(settings: Settings, metrics: Metrics | None = None) -> Runtime:
    """Load the shipped packs, fence sets, routing and loop config; fail loudly if any is bad."""
    packs = PackRegistry()
    for path in sorted(Path(settings.rule_packs_dir).glob("*.yaml")):
        status = packs.activate(load_pack(path))
        if not status.accepted:
            log.warning("shipped pack refused", pack=status.name, reason=status.reason)
    rt = Runtime(
        settings=settings,
        metrics=metrics or Metrics(),
        clock=Clock.starting(settings.clock_start, settings.clock_speed),
        limits=IngestLimits.from_settings(settings),
        catalogue=catalogue_for(settings.schema_registry_url),
        packs=packs,
        loop=load_loop_config(settings=settings),
        routing=load_table(),
        notify=load_notify(settings),
        event_clocks=EventClocks(idle_after=settings.idle_clock_after),
        sealer=deadletter_sealer(settings),
    )
    for fs in shipped_fence_sets(PROJECT_ROOT / "config" / "geofences"):
        rt.fence_sets.activate(fs.name, fs)
    if settings.models_enabled:  # one copy per partition, in its checkpoint
        from streams.model_state import PartitionModels

        rt.models = PartitionModels(settings)
    for kind, names in rt.active_versions().items():
        for name, version in names.items():
            rt.metrics.active_version.labels(kind, name).info({"version": version})
    return rt
