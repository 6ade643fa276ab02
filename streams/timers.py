"""What time alone changes: deadlines, absence rules, silent trucks, warnings falling quiet.

State may only be written while handling a stream event (the event's partition names the
store partition and the offset it absorbs: streams/state.py). So time travels as events: the
leader sends one tick per partition to ``riskloop.ticks`` every ``timer_interval``; the tick
agent, on the worker that owns that partition, handles exactly the keys held in that
partition of the store. After a restart or a rebalance the new owner gets the ticks:
no task escapes supervision because a worker went away.

Two kinds of tick share the topic (``schemas.internal.Tick``). The leader's wall tick runs what the wall clock decides
(deadlines, warnings falling quiet, dedup expiry, hot-load clean-up). Its handler then sends
the partition's *event* clocks (streams/clocks.py) back to the same partition as a clock tick,
and silences (absence rules, silent trucks) are judged when that arrives: a clock tick carries
its time in its bytes, so if it is redelivered after a crash (before its partition's
checkpoint: streams/checkpoint.py) it judges the very same silences again.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from loop.deadlines import CST
from loop.decide.vehicles import fences_replaced, tick_vehicle
from loop.decide.warnings import tick_change
from schemas.durations import to_datetime
from schemas.internal import Tick, TickKind, read_tick
from streams.drift import report_drift
from streams.due import (
    NEVER,
    Compute,
    absence_due,
    due_times,
    silences_context,
    vehicle_due,
    warnings_due,
)
from streams.effects import Message, output
from streams.handle import (
    VEHICLES,
    WARNINGS,
    Held,
    context,
    decide,
    keys,
    load,
    peek,
    rule_state,
)
from streams.logs import get_logger
from streams.scoring import Scored, Where, count_rule_errors, detections_hits, rekeyed_outputs
from streams.state import current_scope
from streams.task_stage import supervise
from streams.warning_stage import change_entity, raise_warnings

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable
    from datetime import datetime

    from geo.detection import Detection
    from geo.fence_sets import CompiledFenceSet
    from schemas.hits import RuleHit
    from streams.runtime import Runtime
    from streams.worker_context import WorkerContext


log = get_logger(__name__)


WALL_TICK = Tick(kind=TickKind.wall).model_dump_json().encode()
"""The leader's wall tick (``b"tick"`` before ticks were records: still read, for one release)."""


def clock_tick(clocks: dict[str, float]) -> bytes:
    """A clock tick's bytes: the event-time clocks of one partition, by source (sorted, so the
    same clocks make the same bytes).

    >>> read_tick(clock_tick({"equipment": 1700000000.0})).clocks
    {'equipment': 1700000000.0}
    """
    return Tick(kind=TickKind.clock, clocks=dict(sorted(clocks.items()))).model_dump_json().encode()


def tick_message(raw: bytes, partition: int) -> Message:
    """A tick for ``partition`` (ticks are addressed to a partition, not keyed)."""
    return output("ticks", "", raw.decode(), partition=partition)


async def tick_partition(
    worker: WorkerContext, partition: int, raw: bytes = WALL_TICK
) -> list[Message]:
    """Everything time changes for the keys of ``partition``: a wall tick or a clock tick;
    what to send (the effect runner sends it: streams/effects.py)."""
    try:
        tick = read_tick(raw)
    except ValueError as exc:
        log.warning("tick ignored", partition=partition, error=str(exc))
        return []
    if tick.kind is TickKind.wall:
        return await wall_tick(worker, partition)
    return await silences(worker, partition, tick.clocks, raw)


async def wall_tick(worker: WorkerContext, partition: int) -> list[Message]:
    """Deadlines, quiet warnings, dedup expiry, hot-load clean-up; then the event clocks.

    A tick is an event of ``partition``: the tables it iterates hold that partition's keys."""
    rt = worker.runtime
    now = rt.clock.now()
    _calendar_gauge(rt, now)
    await report_drift(worker)  # score drift is found while scoring: tell people within a tick
    outputs = await _hotload_cleanup(worker, partition)
    outputs += _quiet_warnings(worker, partition, now)
    outputs += (await supervise(worker, keys(worker, "tasks"), partition))[1]
    # ids are stored with their event time, so they expire by the newest event time seen, not
    # the wall clock: a replay of 2013 data must still catch a re-sent 2013 record
    if rt.event_watermark:
        worker.dedup.expire(rt.event_watermark)
    clocks = rt.event_clocks.now(partition, now.timestamp())
    if clocks and rt.clocks_sent.get(partition) != clocks:
        rt.clocks_sent[partition] = clocks
        outputs.append(tick_message(clock_tick(clocks), partition))
    return outputs


def _quiet_warnings(worker: WorkerContext, partition: int, now: datetime) -> list[Message]:
    """Warnings falling quiet, silences starting or ending: only entities with something due
    (``streams/due.py``), every entity when the silences or the config changed."""
    rt = worker.runtime
    ctx = context(worker)
    times = due_times(worker.due, worker.store, f"warnings:{partition}")
    every = times.refresh(silences_context(rt.silences, rt.loop, now), warnings_due(rt.loop))
    held = keys(worker, "warnings")
    due = held if every else times.due_among(held, partial(peek, worker, WARNINGS), now.timestamp())
    outputs: list[Message] = []
    for entity in due:
        warnings = peek(worker, WARNINGS, entity)  # one the tick leaves unchanged stays cold
        if warnings is None:
            continue
        slot = Held(WARNINGS, warnings)
        outputs += change_entity(
            worker, entity, [tick_change(ctx)], ctx, store_quiet=False, slot=slot
        )[1]
    return outputs


async def silences(
    worker: WorkerContext, partition: int, clocks: dict[str, float], raw: bytes = b""
) -> list[Message]:
    """Absence rules and silent trucks whose silence has run out by the partition's clocks —
    the tick's, capped at what the partition's state has absorbed (:meth:`EventClocks.cap`)
    (``raw``: the clock tick's bytes, sent again while due keys are left: :func:`_chunk`)."""
    rt = worker.runtime
    raw = raw or clock_tick(clocks)
    clocks = rt.event_clocks.cap(partition, clocks, rt.clock.now().timestamp())
    truck_clock = clocks.get("trucks")
    if truck_clock is not None:
        clocks["truck_detections"] = truck_clock  # rules on detections run on the trucks' time
    engine, windows = rt.engine, rule_state(worker)
    # a rule runs on the newest clock among its sources: no key due after the newest of all
    # can fire now, so only the others are read (streams/due.py); no clock yet, none can
    due = _due_keys(
        worker,
        f"rule_state:{partition}",
        [k for k in keys(worker, "rule_state") if engine.times_silence(k)],
        (engine,),
        absence_due(engine),
        windows.get,
        max(clocks.values(), default=-NEVER),
    )
    due, more = _chunk(worker, partition, raw, due)
    scored = Scored(hits=engine.tick(clocks, windows, keys=due))
    rekeyed: list[Message] = []
    if truck_clock is not None and not more:  # the trucks once the absence keys are done
        where = _where(worker, partition)
        found, more = _tick_vehicles(worker, partition, raw, to_datetime(truck_clock), where)
        scored.hits.extend(found)
        rekeyed = rekeyed_outputs(where)
    outputs: list[Message] = [tick_message(raw, partition)] if more else []
    outputs += rekeyed
    count_rule_errors(rt)
    if scored.hits:
        outputs += (await raise_warnings(worker, scored))[1]
    return outputs


def _chunk(
    worker: WorkerContext,
    partition: int,
    raw: bytes,
    due: list[str],
    table: str = "warnings",
    kind: bytes = b"",
) -> tuple[list[str], bool]:
    """The due absence keys this clock tick fires (at most ``RISKLOOP_MEMORY__TICK_KEYS``, and
    no more than the warnings that fit what is left of ``RISKLOOP_MEMORY__DIRTY_BYTES``:
    ``Checkpoint.room``), and whether keys are left (the
    tick is then sent again, and the checkpoint is brought forward before it if the budget is
    reached).

    Why: a tick is one event, and what it changes stays decoded until the checkpoint after it;
    on the 100,000-entity bench ~8,700 entities fell silent in one tick (new warnings without
    a correlation id in 20 s, the checkpoint waiting 20.8 s for the event) and the worker's
    RSS rose ~170 MiB meanwhile (2026-12-05).
    Keys go in sorted order after the last one fired for the same tick bytes, so each tick's
    round ends however many of its keys stay due without firing (a rule whose own sources'
    clock is behind); the place is kept in the runtime, not the changelog: a worker that takes
    the partition starts the round over, and keys already fired are no longer due.
    ``table``: what one key fired changes (an absence key one entity's warnings, a truck its geo
    state), what the budget's room is counted in; ``kind`` keeps the trucks' round apart."""
    cursors = worker.runtime.tick_cursors
    after = cursors.pop((partition, kind + raw), None)
    limit = worker.settings.memory.tick_keys
    room = worker.checkpoint.room(table)
    if room is not None:
        limit = min(limit, room)
    if after is None and len(due) <= limit:
        return due, False
    left = sorted(k for k in due if after is None or k > after)
    chunk = left[:limit]
    more = len(left) > limit
    if more:
        cursors[(partition, kind + raw)] = chunk[-1]
    return chunk, more


def _where(worker: WorkerContext, partition: int) -> Where:
    """A tick's partition, for detections whose rules keep state elsewhere (streams/rekey.py)."""
    scope = current_scope()
    origin = f"{scope.mark}:{scope.offset}" if scope is not None else f"ticks:{partition}"
    return Where(partition, worker.settings.topics.partitions, origin)


def _tick_vehicles(
    worker: WorkerContext, partition: int, raw: bytes, now: datetime, where: Where
) -> tuple[list[RuleHit], bool]:
    """Release held-back fixes and report silent trucks; the rule hits of what was found, and
    whether due trucks are left for the tick sent again (:func:`_chunk`, as for absence keys:
    on the 100,000-entity bench one clock tick decided thousands of trucks read back from the
    spill file, and the worker's RSS rose 449 → 485 MiB in 2 s, a sampler in the worker,
    2026-12-06)."""
    rt = worker.runtime
    found: list[tuple[CompiledFenceSet, Detection]] = []
    due = _due_keys(
        worker,
        f"vehicles:{partition}",
        keys(worker, "vehicles"),
        None,  # a truck's due time depends on its state alone (the geo defaults)
        vehicle_due,
        partial(load, worker, VEHICLES),
        now.timestamp(),
    )
    due, more = _chunk(worker, partition, raw, due, "vehicles", b"vehicles:")
    for key in due:
        fences = rt.fence_sets.get(key.partition("|")[0])
        if fences is None:
            continue
        decision = decide(worker, VEHICLES, key, partial(tick_vehicle, now=now, fences=fences))
        found += [(fences, det) for det in decision.detections]
    return detections_hits(rt, found, rule_state(worker), where), more


def _due_keys(
    worker: WorkerContext,
    name: str,
    held: list[str],
    context: Hashable,
    compute: Compute,
    read: Callable[[str], object],
    until: float,
) -> list[str]:
    """The keys of ``held`` due by ``until`` (event-time POSIX seconds), from the due-time cache
    ``name`` (``<table>:<partition>``); a key's value is read only when its time is not known."""
    times = due_times(worker.due, worker.store, name)
    times.refresh(context, compute)
    return times.due_among(held, read, until)


def _calendar_gauge(rt: Runtime, now: datetime) -> None:
    """Days of official working-day data left (the RiskLoopCalendarRunningOut alert)."""
    today = now.astimezone(CST).date()
    until = rt.loop.calendar.official_until(today)
    rt.metrics.calendar_days_left.set(0 if until is None else (until - today).days + 1)


async def _hotload_cleanup(worker: WorkerContext, partition: int) -> list[Message]:
    """Drop state of removed rules; close "inside" states of removed fences (exit events)."""
    rt = worker.runtime
    control = worker.control
    done_rules, done_fences = rt.cleanup_done.get(partition, (0, 0))
    removed = control.removed_rules[done_rules:]
    if removed:
        rt.engine.cleanup(rule_state(worker), removed)
    changes = control.fence_changes[done_fences:]
    where = _where(worker, partition)
    found: list[tuple[CompiledFenceSet, Detection]] = []
    now = rt.clock.now()
    for old, new in changes:
        prefix = f"{new.name}|"
        for key in [k for k in keys(worker, "vehicles") if k.startswith(prefix)]:
            replace = partial(fences_replaced, old=old, new=new, now=now)
            found += [(new, det) for det in decide(worker, VEHICLES, key, replace).detections]
    scored = Scored(hits=detections_hits(rt, found, rule_state(worker), where))
    outputs = rekeyed_outputs(where)
    if scored.hits:
        outputs += (await raise_warnings(worker, scored))[1]
    rt.cleanup_done[partition] = (len(control.removed_rules), len(control.fence_changes))
    return outputs
