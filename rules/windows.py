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


def sequence_add(
    state: State | None,
    steps_matched: list[int],
    at: float,
    occurrence: dict[str, Any],
    *,
    n_steps: int,
    within: int,
    keep: int = 16,
) -> tuple[State, list[dict[str, Any]] | None]:
    """Record an event at the steps it matches; return a completed chain if one now exists.

    A chain is one occurrence per step with non-decreasing times and last − first ≤
    ``within``; it must include the new event (so late arrivals complete chains too). The
    occurrences used are consumed, so one chain fires once. Per step at most ``keep``
    occurrences within the horizon are kept.
    """
    occ = [list(step) for step in (state or {}).get("s", [[] for _ in range(n_steps)])]
    watermark = max(float((state or {}).get("w", at)), at)
    horizon = watermark - within
    if at < horizon:
        return {"s": occ, "w": watermark}, None
    item = {**occurrence, "t": at}
    for k in steps_matched:
        occ[k].append(item)
    occ = [
        sorted((o for o in step if o["t"] >= horizon), key=lambda o: o["t"])[-keep:] for step in occ
    ]
    for k in steps_matched:
        chain = _chain(occ, k, item, within)
        if chain is not None:
            used = {(i, c["id"], c["t"]) for i, c in enumerate(chain)}
            occ = [
                [o for o in step if (i, o["id"], o["t"]) not in used] for i, step in enumerate(occ)
            ]
            return {"s": occ, "w": watermark}, chain
    return {"s": occ, "w": watermark}, None


def _chain(
    occ: list[list[dict[str, Any]]], k: int, item: dict[str, Any], within: int
) -> list[dict[str, Any]] | None:
    chain: list[dict[str, Any]] = [item]
    t = item["t"]
    ids = {item["id"]}
    for i in range(k - 1, -1, -1):  # backwards: latest occurrence not after the next step
        options = [o for o in occ[i] if o["t"] <= t and o["id"] not in ids]
        if not options:
            return None
        chain.insert(0, options[-1])
        t = options[-1]["t"]
        ids.add(options[-1]["id"])
    t = item["t"]
    for i in range(k + 1, len(occ)):  # forwards: earliest occurrence not before the previous
        options = [o for o in occ[i] if o["t"] >= t and o["id"] not in ids]
        if not options:
            return None
        chain.append(options[0])
        t = options[0]["t"]
        ids.add(options[0]["id"])
    if chain[-1]["t"] - chain[0]["t"] > within:
        return None
    return chain
