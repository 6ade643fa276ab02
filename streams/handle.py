"""The one place a handler's state is loaded and stored: load → decide → store.

Handlers decide through the pure deciders of ``loop/decide/`` (``(state, message, context) ->
Decision``); :func:`decide` is the only code of the worker's handlers that reads or writes the
partition store's tables (``worker.tables``, streams/state.py): it loads the state of
one key through a :class:`Slot`, calls the decider, stores the new state when the decider
changed it (a decider that changed nothing returns the state it was given: no changelog
record) and returns the decision, whose messages the handler returns to the agents' boundary
for the effect runner to send (streams/effects.py, ``run``: after the handler returned, inside
the event's checkpoint scope, so an event's writes and sends stand or fall together).
``tests/unit/streams/test_effects_scan.py`` keeps every other module of ``streams/`` off the tables.

The engines that keep their state as a mapping (the rules' windows, a truck's geo state, via
``rules/`` and ``geo/``) are handed the table views from here as well (:func:`rule_state`,
:func:`vehicles`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from geo.vehicle import VehicleState
from loop.decide import Context, Decision
from loop.decide.feedback import FeedbackState, labelled_rules
from loop.profile import EntityProfile
from loop.task_opening import TaskCase
from loop.warnings import EntityWarnings

if TYPE_CHECKING:
    from collections.abc import Callable, MutableMapping

    from schemas.internal import TaskFeedback
    from streams.tables import Tables
    from streams.worker_context import WorkerContext

S = TypeVar("S")
D = TypeVar("D", bound=Decision[Any])
M = TypeVar("M", bound=BaseModel)


class Slot(Generic[S]):
    """How one kind of state is kept in the tables: read for a key, written back."""

    def load(self, tables: Tables, key: str) -> S | None:
        """The state kept under ``key``, or None when there is none yet."""
        raise NotImplementedError

    def peek(self, tables: Tables, key: str) -> S | None:
        """The state under ``key`` to read once (a summary of it), not to decide on: the
        tables keep holding it as they did. By default what :meth:`load` gives."""
        return self.load(tables, key)

    def store(self, tables: Tables, key: str, new: S, before: S | None) -> None:
        """Write ``new`` under ``key``; ``before`` (what :meth:`load` gave) lets a slot skip
        what did not change."""
        raise NotImplementedError


@dataclass(frozen=True)
class ModelSlot(Slot[M]):
    """A pydantic value in one table (decoded once after a restore, then kept decoded)."""

    table: str
    model: type[M]

    def load(self, tables: Tables, key: str) -> M | None:
        """The value under ``key`` as ``model``, decoded at most once after a restore."""
        view = getattr(tables, self.table)
        value: M | None = view.decoded(key, self.model)
        return value

    def peek(self, tables: Tables, key: str) -> M | None:
        """The value under ``key`` as ``model``; one held as bytes is decoded for this read
        alone and stays bytes (streams/due.py reads every value of a partition once)."""
        view = getattr(tables, self.table)
        value: M | None = view.decoded(key, self.model, keep=False)
        return value

    def store(self, tables: Tables, key: str, new: M, before: M | None) -> None:
        """Write ``new`` under ``key`` (the table marks it dirty for the checkpoint)."""
        getattr(tables, self.table)[key] = new


class VehicleSlot(Slot[VehicleState]):
    """A truck's state in one fence set (``<fence set>|<plate>``): held as the object between
    fixes, a dict once restored (streams/scoring.py, ``track``)."""

    def load(self, tables: Tables, key: str) -> VehicleState | None:
        """The truck's state, rebuilt from its dict after a restore."""
        raw = tables.vehicles.get(key)
        return VehicleState.from_dict(raw) if raw else None

    def store(self, tables: Tables, key: str, new: VehicleState, before: Any) -> None:
        """Write the truck's state back as the object: it is encoded only at the checkpoint."""
        tables.vehicles[key] = new


class FeedbackSlot(Slot[FeedbackState]):
    """A disposal's states on the entity's partition, keyed by the entity: its warnings, and
    the precision counters of the rules the disposed task's warning names
    (``loop.decide.feedback.labelled_rules``), which are read from those warnings."""

    def __init__(self, case: TaskFeedback) -> None:
        self.case = case

    def load(self, tables: Tables, key: str) -> FeedbackState:
        """The entity's warnings and the precision counters of the rules this disposal labels."""
        warnings = WARNINGS.load(tables, key)
        zero = {"confirmed": 0, "false_alarm": 0}
        counters = {
            rule: dict(tables.precision.get(rule) or zero)
            for rule in labelled_rules(warnings, self.case)
        }
        return FeedbackState(warnings, counters)

    def store(
        self, tables: Tables, key: str, new: FeedbackState, before: FeedbackState | None
    ) -> None:
        """Write back only what changed: the warnings if replaced, each counter that moved."""
        if new.warnings is not None and (before is None or new.warnings is not before.warnings):
            WARNINGS.store(tables, key, new.warnings, None)
        for rule, counter in new.counters.items():
            if before is None or before.counters.get(rule) != counter:
                tables.precision[rule] = counter


@dataclass(frozen=True)
class Held(Slot[S]):
    """State already read (with :func:`peek`) for one decision: stored through ``slot`` only
    if the decider changes it.

    Why: a wall tick decides on every warning it finds due, and all of a partition's when the
    silences or the config change; loading each with :func:`load` kept every one decoded
    until the next checkpoint, though most come out of the tick unchanged. On the
    100,000-entity bench the worker's RSS rose ~150 MiB in 4 s while one such tick read
    warnings back from the spill file (a stack sampler in the worker, 2026-12-05). Read with
    :func:`peek`, a warning the tick leaves as it was stays cold; one it changes is stored
    decoded, as any change is."""

    slot: Slot[S]
    state: S

    def load(self, tables: Tables, key: str) -> S | None:
        """The state read before."""
        return self.state

    def store(self, tables: Tables, key: str, new: S, before: S | None) -> None:
        """Written as ``slot`` writes it."""
        self.slot.store(tables, key, new, before)


WARNINGS = ModelSlot("warnings", EntityWarnings)
TASKS = ModelSlot("tasks", TaskCase)
PROFILES = ModelSlot("profiles", EntityProfile)
VEHICLES = VehicleSlot()


def decide(worker: WorkerContext, slot: Slot[S], key: str, decider: Callable[[S | None], D]) -> D:
    """Load ``key``'s state, decide, store the new state if the decider changed it; the
    decision (its messages are for the effect runner: return them to the agents' boundary)."""
    tables = worker.tables
    before = slot.load(tables, key)
    decision = decider(before)
    if decision.state is not None and decision.state is not before:
        slot.store(tables, key, decision.state, before)
    return decision


def load(worker: WorkerContext, slot: Slot[S], key: str) -> S | None:
    """Read ``key``'s state without deciding (a verdict on a repeat, the API)."""
    return slot.load(worker.tables, key)


def peek(worker: WorkerContext, slot: Slot[S], key: str) -> S | None:
    """Read ``key``'s state once, for a summary (a due time, a task's brief), leaving a cold
    value cold. Why: a tick computes the summaries of every value whose summary it does not
    know — all of them after a restore — and :func:`load` would keep each decoded until the
    next checkpoint evicts it; on the 100,000-entity bench that held 166 MiB of warnings
    decoded at the worker's peak (memray, 2026-12-05)."""
    return slot.peek(worker.tables, key)


def keys(worker: WorkerContext, table: str) -> list[str]:
    """The keys of ``table`` in the partition being handled (what a tick looks after)."""
    return list(getattr(worker.tables, table))


def context(worker: WorkerContext) -> Context:
    """The loop's configuration and hot-loaded parts as they are now, and the time."""
    rt = worker.runtime
    return Context(
        config=rt.loop,
        now=rt.clock.now(),
        routing=rt.routing,
        silences=rt.silences,
        notify=rt.notify,
    )


def rule_state(worker: WorkerContext) -> MutableMapping[str, Any]:
    """The rules' windows, for the rule engine (``rules/``), which keeps them in a mapping."""
    return worker.tables.rule_state


def vehicles(worker: WorkerContext) -> MutableMapping[str, Any]:
    """Trucks' geo state by ``<fence set>|<plate>``, for ``streams.scoring.track``."""
    return worker.tables.vehicles
