"""A poison-message storm: one record in ten is garbage. Throughput must hold, every bad
record must reach the dead-letter topic (once, with its original bytes), and the good records
must end exactly as in the reference run."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING

from bench.chaos import (
    Context,
    Item,
    Outcome,
    database,
    measure_drain,
    produce,
    read_topic,
    space,
    verdict,
    wait_caught_up,
    wait_sql,
)

if TYPE_CHECKING:
    from config.settings import Settings

MIN_THROUGHPUT_RATIO = 0.5
"""Poisoned rate ÷ clean rate below this fails: a bad record must cost about what a good one does."""
MIN_EVENTS = 1500
"""A rate over fewer records is mostly noise: smaller runs use a clean run of this size."""


def garbage(i: int, source: str) -> bytes:
    """The ``i``-th bad record, unique by ``i``; five kinds of breakage in turn.

    >>> garbage(0, "inspections")[:2]
    b'\\xff\\xfe'
    >>> json.loads(garbage(3, "trucks"))["event_id"]
    'poison-3'
    """
    kind = i % 5
    if kind == 0:
        return b"\xff\xfe not utf-8 " + str(i).encode()
    if kind == 1:
        return b'{"event_id": "poison-' + str(i).encode() + b'", "event_time": '  # truncated
    if kind == 2:
        return json.dumps(["poison", i]).encode()
    if kind == 3:
        return json.dumps({"event_id": f"poison-{i}", "source": source}).encode()  # fields missing
    return json.dumps(
        {
            "event_id": f"poison-{i}",
            "event_time": "not a time",
            "uscc": 42,
            "plate": [],
            "equipment_code": None,
        }
    ).encode()


def poisoned(items: list[Item], every: int = 9) -> tuple[list[Item], list[bytes]]:
    """``items`` with one garbage record after every ``every`` good ones (10% of the total).

    >>> mixed, bad = poisoned([("trucks", "k", b"{}")] * 18)
    >>> len(mixed), len(bad)
    (20, 2)
    """
    out: list[Item] = []
    bad: list[bytes] = []
    for n, (source, key, value) in enumerate(items, 1):
        out.append((source, key, value))
        if n % every == 0:
            bad.append(garbage(len(bad), source))
            out.append((source, key, bad[-1]))
    return out, bad


def dead_lettered(settings: Settings, records: list[tuple[str, bytes]]) -> Counter[bytes]:
    """Original payloads on the dead-letter topic, counted (opened with the key if sealed)."""
    from streams.deadletters import original_value

    return Counter(original_value(settings, raw) for _, raw in records)


def garbage_storm(ctx: Context) -> Outcome:
    """Every tenth record garbage: each must be dead-lettered once, no good one rejected,
    and the rate stay at least ``MIN_THROUGHPUT_RATIO`` of a clean run's."""
    if ctx.compare_speed and ctx.events < MIN_EVENTS:
        ctx = Context(ctx.base, ctx.work, MIN_EVENTS, ctx.say, ctx.start)  # its own reference
    ref = ctx.reference()
    items, bad = poisoned(ctx.items())
    with database(ctx.base.dev) as url, space(ctx.base, ctx.work, sql_url=url) as sp:
        produce(sp.settings, items)
        sp.start_worker()
        rate = measure_drain(sp, len(items))
        recovery = wait_caught_up(sp)
        got = wait_sql(url, ref.snapshot)
        dlq = dead_lettered(sp.settings, read_topic(sp.settings, [sp.settings.topics.deadletter]))
    missing = sum(1 for b in bad if dlq[b] == 0)
    twice = sum(dlq[b] - 1 for b in bad if dlq[b] > 1)
    wrongly = sum(n for b, n in dlq.items() if b not in set(bad))  # good records rejected
    ratio = rate / ref.events_per_second
    base = verdict("poison", len(items), ref.snapshot, got, recovery)
    correct = base.correct and not (missing or twice or wrongly)
    return Outcome(
        "poison",
        len(items),
        base.checked + len(bad),
        base.lost + missing + wrongly,
        base.duplicated + twice,
        None,
        correct,
        f"{len(bad)} bad, {len(bad) - missing} dead-lettered, {wrongly} good rejected; "
        f"{rate:,.0f} ev/s = {ratio:.2f}× clean; {base.note}".rstrip("; "),
        speed_ok=ratio >= MIN_THROUGHPUT_RATIO or not ctx.compare_speed,
    )
