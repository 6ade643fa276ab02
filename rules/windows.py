"""Stream conditions as pure state transitions over JSON-serialisable state.

Each function takes the previous state of one (rule, entity) key (``None`` when new) and an
event-time instant (epoch seconds), and returns the new state plus what happened. Nothing is
mutated in place: the engine writes the returned value back, which is what makes a Faust table
record it in its changelog, so windows survive a restart or a rebalance.

Event time, not arrival time, drives every window; modestly late events are still counted where
they fall, and stale ones cannot reopen an episode that has moved on.

>>> s, agg = aggregate_add(None, at=0.0, value=1.0, size=600, width=60)
>>> s, agg = aggregate_add(s, at=30.0, value=1.0, size=600, width=60)
>>> agg["count"]
2
>>> s, fired = duration_step(None, at=0.0, active=True, cleared=False, hold=600)
>>> s, fired = duration_step(s, at=600.0, active=True, cleared=False, hold=600)
>>> fired
True
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

State = dict[str, Any]

# ------------------------------------------------------------------ aggregate


def aggregate_add(
    state: State | None, at: float, value: float, size: int, width: int
) -> tuple[State, dict[str, float] | None]:
    """Add ``value`` at ``at`` to time buckets of ``width`` and aggregate the last ``size``.

    Buckets are ``[start, count, sum, max]``; with ``width == size`` the window is tumbling
    (the aggregate is the bucket holding the event), otherwise sliding over the buckets that
    overlap ``(watermark - size, watermark]``. Memory per key is at most
    ``size / width + 2`` buckets. An event older than the window is dropped (``None``).
    """
    old: list[list[Any]] = (state or {}).get("b", [])
    watermark = max(float((state or {}).get("w", at)), at)
    tumbling = width >= size
    horizon = watermark - (2 * size if tumbling else size)
    if at <= horizon:
        return {"b": list(old), "w": watermark}, None
    start = at - at % width
    # A new list for the bucket that changes, the others shared with the old value: neither is
    # ever changed in place (the old value is the event's undo, or still being encoded).
    buckets: list[list[Any]] = []
    added = False
    for kept in old:
        bucket = kept
        if not added and kept[0] == start:
            bucket = [kept[0], kept[1] + 1, kept[2] + value, max(kept[3], value)]
            added = True
        if bucket[0] + width > horizon:
            buckets.append(bucket)
    if not added and start + width > horizon:
        buckets.append([start, 1, value, value])
    buckets.sort(key=_START)
    # Sliding: a bucket was kept above because ``start + width > horizon``, and ``horizon`` is
    # the window's low edge (``watermark - size``, the same float), so every bucket kept is in
    # the window and none is tested again; tumbling: only the event's own bucket counts.
    chosen = [b for b in buckets if b[0] == start] if tumbling else buckets
    count = 0
    total: float = 0  # an int 0 when no bucket is chosen, as sum() of none was
    for bucket in chosen:  # summed in bucket order, as ever: the same floats
        count += int(bucket[1])
        total += float(bucket[2])
    top = max([float(b[3]) for b in chosen]) if chosen else 0.0
    agg = {
        "count": count,
        "sum": total,
        "avg": total / count if count else 0.0,
        "max": top,
    }
    return {"b": buckets, "w": watermark}, agg


_START = itemgetter(0)
"""A bucket's start, the sort key. Why not a function: the sort asked it once per bucket, up to
``buckets`` + 2 times per event and rule, and a sliding window fills as event time passes, so
this function's cost grew with the stream (a 7-day window of 60 buckets is full after a week
of event time, ~20,000 events of the bench's stream; issue #16)."""


def compare(left: float, op: str, right: float) -> bool:
    """``left op right`` for the operators a window threshold may use."""
    return {
        ">=": left >= right,
        ">": left > right,
        "<=": left <= right,
        "<": left < right,
        "==": left == right,
    }[op]


# ------------------------------------------------------------------ duration (for:)


def duration_step(
    state: State | None, at: float, active: bool, cleared: bool, hold: int
) -> tuple[State, bool]:
    """Advance a ``for:`` episode; ``True`` exactly once per episode, when it starts firing.

    Pending starts at the first active event and resets when the condition lapses before
    ``hold`` has passed. Once firing, only ``cleared`` ends the episode (hysteresis: with a
    clear condition stricter than "not active", readings in the band between keep it going).
    An event older than the last one seen is stale and changes nothing.
    """
    s = dict(state or {"since": None, "firing": False, "last": at})
    if at < float(s["last"]):
        return s, False
    s["last"] = at
    if s["firing"]:
        if cleared:
            s.update(since=None, firing=False)
        return s, False
    if active:
        if s["since"] is None:
            s["since"] = at
        if at - float(s["since"]) >= hold:
            s["firing"] = True
            return s, True
    else:
        s["since"] = None
    return s, False


# ------------------------------------------------------------------ absence


def absence_seen(state: State | None, at: float, context: dict[str, Any]) -> State:
    """A matching event arms (or re-arms) the timer; ``context`` is kept for the later hit."""
    if state is not None and at < float(state.get("last", at)):
        return dict(state)
    return {"last": at, "armed": True, "fired": False, "ctx": context}


def absence_clear(state: State | None, at: float) -> State | None:
    """A clear event (stopped, passed re-inspection) disarms the timer: not offline."""
    if state is None or at < float(state.get("last", at)):
        return state
    return {**state, "last": at, "armed": False}


def absence_due(state: State, now: float, after: int) -> bool:
    """Whether an armed timer has run out and not yet fired (one hit per silence)."""
    return (
        bool(state.get("armed")) and not state.get("fired") and now - float(state["last"]) >= after
    )


# ------------------------------------------------------------------ sequence


SEQUENCE_KEEP = 64
"""Occurrences kept per step beyond what a two-step sequence's cover needs: a longer sequence's
earlier steps, and last-step events still waiting for their chain. Past it the oldest go, and
then the read order of two topics can change which chains fire (as it can for an event later
than the sequence's ``within`` allows, which is dropped)."""


def sequence_add(
    state: State | None,
    steps_matched: list[int],
    at: float,
    occurrence: dict[str, Any],
    *,
    n_steps: int,
    within: int,
    keep: int = SEQUENCE_KEEP,
) -> tuple[State, list[list[dict[str, Any]]]]:
    """Record an event at the steps it matches; return the chains it completes.

    A chain is one occurrence per step with non-decreasing times, distinct events and last −
    first ≤ ``within``. Each last-step event fires once, when a chain ending at it first
    exists — on its own arrival, or on the arrival of a late earlier step, which may complete
    several waiting ones at once. Earlier steps are not used up: one complaint corroborates every
    failed inspection in the 30 days after it.

    Why not use them up: which chains fire must not depend on the order the worker reads two
    topics (issue #16, ``riskloop bench --chaos``). Pairing each complaint with one failure, and
    keeping the newest 16 occurrences, made the first failure of an enterprise whose complaints
    were read ahead of its inspections fire hours later in event time than in a run that read
    them in time order, and open another task. Here, what fires is a function of the events
    within the horizon, whatever their order (up to ``keep`` waiting or longer-sequence
    occurrences per step). A two-step sequence keeps of its first step only a cover: an
    occurrence whose neighbours are within ``within`` of each other adds no time a last step
    could pair with, so it is dropped, and the state stays a few occurrences however many
    complaints an enterprise gets. Which kept occurrence a chain names may then follow the read
    order; whether and when it fires does not. Event time bounds lateness: a last step older
    than the newest time seen minus ``within`` is dropped, and an earlier step is kept until it
    can pair with no last step that is not (so a late complaint still completes a failure that
    is not late, in either order).

    >>> s, chains = sequence_add(None, [1], 50.0, {"id": "fail"}, n_steps=2, within=100)
    >>> chains
    []
    >>> s, chains = sequence_add(s, [0], 10.0, {"id": "complaint"}, n_steps=2, within=100)
    >>> [[o["id"] for o in c] for c in chains]
    [['complaint', 'fail']]
    """
    last = n_steps - 1
    occ = [list(step) for step in (state or {}).get("s", [[] for _ in range(n_steps)])]
    watermark = max(float((state or {}).get("w", at)), at)
    horizon = watermark - within  # a last step older than this is late: it is dropped
    # per step, the oldest time kept: an earlier step older than ``horizon - within`` can pair
    # with no last step that is not late
    floor = [horizon - within] * last + [horizon]
    steps_matched = [k for k in steps_matched if at >= floor[k]]
    if not steps_matched:
        return {"s": occ, "w": watermark}, []
    item = {**occurrence, "t": at}
    chains: list[list[dict[str, Any]]] = []
    for k in steps_matched:
        if k < last:
            occ[k].append(item)
    if last in steps_matched:
        chain = _chain(occ, item, within)
        if chain is not None:
            chains.append(chain)
        else:
            occ[last].append(item)
    if any(k < last for k in steps_matched) and occ[last]:
        waiting = []
        for pending in sorted(occ[last], key=_order):
            chain = _chain(occ, pending, within)
            if chain is None:
                waiting.append(pending)
            else:
                chains.append(chain)
        occ[last] = waiting
    occ = [
        sorted((o for o in step if o["t"] >= floor[k]), key=_order)[-keep:]
        for k, step in enumerate(occ)
    ]
    if n_steps == 2:
        occ[0] = _cover(occ[0], within)
    return {"s": occ, "w": watermark}, chains


def _order(o: dict[str, Any]) -> tuple[float, str]:
    return float(o["t"]), str(o["id"])


def _cover(step: list[dict[str, Any]], within: int) -> list[dict[str, Any]]:
    """``step`` (in time order) without occurrences whose neighbours are ``within`` of each
    other: the times ``[t, t + within]`` a last step may pair with are the same.

    >>> [o["t"] for o in _cover([{"id": str(t), "t": t} for t in [0, 5, 9, 30]], 10)]
    [0, 9, 30]
    """
    kept: list[dict[str, Any]] = []
    for o in step:
        kept.append(o)
        while len(kept) >= 3 and kept[-1]["t"] - kept[-3]["t"] <= within:
            del kept[-2]
    return kept


def _chain(
    occ: list[list[dict[str, Any]]], end: dict[str, Any], within: int
) -> list[dict[str, Any]] | None:
    """A chain ending at ``end`` (a last-step occurrence): backwards, the latest occurrence of
    each step not after the next one — the latest start there is, so the one that fits in
    ``within`` if any does."""
    chain: list[dict[str, Any]] = [end]
    t = end["t"]
    ids = {end["id"]}
    for i in range(len(occ) - 2, -1, -1):
        options = [o for o in occ[i] if o["t"] <= t and o["id"] not in ids]
        if not options:
            return None
        pick = max(options, key=_order)
        chain.insert(0, pick)
        t = pick["t"]
        ids.add(pick["id"])
    if end["t"] - chain[0]["t"] > within:
        return None
    return chain
