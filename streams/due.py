"""When each task, warning, truck and absence timer next needs the timer: computed once per
stored value, not per tick.

An idle worker with 4,644 open tasks used a whole core: every wall tick (every 5 s, on every
partition) re-judged every task (its overdue ladder, counting working days on the calendar for
each) and re-settled every entity's warnings. Both only change at known times: a task at
:func:`loop.supervision.next_due`, a warning when it has been quiet for ``quiet_after`` or when a
silence starts, ends or changes. :class:`DueTimes` keeps that time per key until the store says
the key's value changed (``Store.watch``: a disposition, a hit, a restore from the changelog,
an undo); the time is computed again when next asked. So a tick compares two numbers for a key
that is not due without loading its value — which matters once values go cold
(streams/hot.py): loading a cold warning decodes it. It keeps the time, not the value: holding
every stored object here would keep them all decoded.
What the times depend on besides the value — the loop config, the calendar, the silences, the
rule engine — is the cache's context: when it changes, every time is computed again.

The event-time timers (a clock tick's absence rules and silent trucks, streams/timers.py) read
every rule window and every truck of the partition the same way, decoding each cold one: with
100,000 distinct entities a worker spent its whole core on clock ticks (bench/RESULTS.md,
2026-12-04 23:30) and the downstream agents fell hours behind. Their times are event times
(the partition's clocks), not the wall clock, but the cache is the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

from geo.detector import next_due as next_vehicle_due
from loop.supervision import TaskBrief, brief

if TYPE_CHECKING:
    from collections.abc import Hashable
    from datetime import datetime

    from geo.vehicle import VehicleState
    from loop.loop_config import LoopConfig
    from loop.task_opening import TaskCase
    from loop.warnings import EntityWarnings
    from rules.engine import RuleEngine
    from streams.state import Store

NEVER = math.inf
S = TypeVar("S")
_UNKNOWN: Any = object()

Compute: TypeAlias = Callable[[str, Any], float]
"""(key, its stored value) → when it is next due (:data:`NEVER` if it is not)."""


class Summaries(Generic[S]):
    """key → a summary of its stored value (when it is next due, a task's brief), computed once
    per stored value and kept until the store says the value changed; None: no value."""

    def __init__(self, compute: Callable[[str, Any], S]) -> None:
        self._compute = compute
        self._known: dict[str, S | None] = {}
        self._context: Hashable = None

    def refresh(self, context: Hashable, compute: Callable[[str, Any], S]) -> bool:
        """Start a tick in ``context``; True when it changed (every summary is then recomputed)."""
        self._compute = compute
        if context == self._context:
            return False
        self._context = context
        self._known.clear()
        return True

    def summary(self, key: str, load: Callable[[], object]) -> S | None:
        """The summary of the value stored under ``key`` (None if none is); ``load`` reads the
        value, only when the summary is not known."""
        known = self._known.get(key, _UNKNOWN)
        if known is not _UNKNOWN:
            return known  # an S or None, never the marker
        value = load()
        made = None if value is None else self._compute(key, value)
        self._known[key] = made
        return made

    def changed(self, key: str | None) -> None:
        """``key``'s value changed (None: any key's may have): its summary is computed again."""
        if key is None:
            self._known.clear()
        else:
            self._known.pop(key, None)

    def keep_only(self, keys: set[str]) -> None:
        """Forget keys no longer held (closed tasks, partitions given away)."""
        for key in [k for k in self._known if k not in keys]:
            del self._known[key]

    def __len__(self) -> int:
        return len(self._known)


class DueTimes(Summaries[float]):
    """key → when its stored value is next due, as a POSIX timestamp."""

    def due(self, key: str, load: Callable[[], object]) -> float:
        """When the value stored under ``key`` is next due (NEVER if not, or none is);
        ``load`` reads the value, only when the time is not known."""
        at = self.summary(key, load)
        return NEVER if at is None else at

    def due_among(self, keys: list[str], read: Callable[[str], object], until: float) -> list[str]:
        """The ``keys`` due by ``until``, in order (``read(key)`` loads a value only when its
        time is not known); the times of keys not among them are forgotten (no longer held)."""
        due = [key for key in keys if self.due(key, partial(read, key)) <= until]
        self.keep_only(set(keys))
        return due


def task_brief(config: LoopConfig) -> Callable[[str, TaskCase], TaskBrief]:
    """A task in brief (:class:`loop.supervision.TaskBrief`): open, department, the deadline it
    races and its next ladder step (催办/督办/通报)."""

    def compute(_key: str, case: TaskCase) -> TaskBrief:
        return brief(case, config)

    return compute


def warnings_due(config: LoopConfig) -> Compute:
    """When an entity's escalated warning falls back for being quiet (``quiet_after``)."""

    def compute(_key: str, state: EntityWarnings) -> float:
        times = [
            (w.last_seen + config.quiet_after).timestamp()
            for w in state.warnings.values()
            if w.active and w.bumps
        ]
        return min(times, default=NEVER)

    return compute


def vehicle_due(key: str, state: VehicleState) -> float:
    """When a truck's held-back fixes or its silence next need a clock tick
    (:func:`geo.detector.next_due`)."""
    at = next_vehicle_due(state)
    return NEVER if at is None else at.timestamp()


def absence_due(engine: RuleEngine) -> Compute:
    """When an absence rule's silence runs out (:meth:`rules.engine.RuleEngine.absence_due`)."""

    def compute(key: str, value: Any) -> float:
        at = engine.absence_due(key, value)
        return NEVER if at is None else at

    return compute


def silences_context(silences: list[Any], config: LoopConfig, now: datetime) -> Hashable:
    """What warnings' timing depends on besides the warnings: the config, every silence as it
    is, and which silences are in their window at ``now`` (a start or an end passing)."""
    window = tuple(s.starts_at <= now < s.ends_at for s in silences if hasattr(s, "starts_at"))
    return (id(config), tuple(repr(s) for s in silences), window)


def due_times(caches: dict[str, Summaries[Any]], store: Store, name: str) -> DueTimes:
    """The worker's due times of that name in ``caches`` (``<table>:<partition>``; one per
    worker: keys are unique across partitions), told by ``store`` when a value of its table
    changes."""
    times = summaries(caches, store, name, DueTimes)
    assert isinstance(times, DueTimes)
    return times


def summaries(
    caches: dict[str, Summaries[Any]],
    store: Store,
    name: str,
    kind: Callable[[Callable[[str, Any], Any]], Summaries[Any]] = Summaries,
) -> Summaries[Any]:
    """The worker's cache of that name in ``caches`` (made as ``kind``), told by ``store`` when
    a value of its table (``name`` up to its ``:``) changes."""
    if name not in caches:
        found = caches[name] = kind(lambda _key, _value: None)
        table = name.partition(":")[0]

        def changed(of: str, key: str | None) -> None:
            if of == table:
                found.changed(key)

        store.watch(changed)
    return caches[name]
