"""A rule pack published every second while the worker is under load.

Technique of tests/integration/test_hotload.py: a probe rule with ``group_key: [event_id]`` makes
one warning per event it fires on, and each warning names the pack version that scored it, so
"every event scored exactly once" is countable: no probe without a warning, none with two.

The probes are the load's own inspections, not events added to it: the run must read exactly
the reference's input. The online models learn from every source event of their partition
(``models/worker_models.py``), so extra inspections, however harmless to the rules, teach the
inspection model of their partition what the reference's never learnt: at 1,500 events 375
probe inspections warmed up a partition's model (``min_labels``) that never warms up in the
reference, and its first alerts opened a task the reference does not have (bench/RELIABILITY.md,
2026-12-05). The probe warnings are blue, below ``task_min_level``: they open no task and lead
no case, so the task store is still compared with the shared reference.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from bench.chaos import (
    Context,
    Item,
    Outcome,
    Space,
    database,
    read_topic,
    space,
    verdict,
    wait_caught_up,
    wait_sql,
)
from bench.stats import BenchError
from streams.producer import make_producer
from streams.publish import publish_pack

if TYPE_CHECKING:
    from collections.abc import Mapping

PACK = """\
name: {name}
version: {version}
owner: chaos
description: hot-swap probe
rules:
  - id: {rule}
    title: 热加载探针
    sources: [inspections]
    item_code: {item}
    condition: event.uscc != null && event.uscc != ""
    group_key: [event_id]
    level: blue
    score: 10
    examples:
      - name: fires on an enterprise's inspection
        fire: true
        event: {{uscc: "91110108MA01ABCD2X", item_code: FOOD-INSP-01}}
      - name: silent without an enterprise
        fire: false
        event: {{uscc: "", item_code: FOOD-INSP-01}}
"""


def probe_ids(load: list[Item]) -> list[str]:
    """The events the probe rule fires on: the load's inspections (each of an enterprise).

    >>> probe_ids([("inspections", "u", b'{"event_id": "insp-1", "uscc": "u"}'),
    ...            ("complaints", "u", b'{"event_id": "cmp-1", "uscc": "u"}')])
    ['insp-1']
    """
    return [
        event["event_id"]
        for source, _, value in load
        if source == "inspections" and (event := json.loads(value)).get("uscc")
    ]


def with_probes(
    base: Outcome, scored: Mapping[str, list[str]], want: list[str], published: int, accepted: int
) -> Outcome:
    """``base`` (the task store against the reference) with the probes counted in: a probe
    without a warning is lost, each warning after its first a duplicate. The note keeps
    ``base``'s, which names the differing rows.

    >>> from bench.chaos import Snapshot
    >>> ref = Snapshot(frozenset({("t1", "d", "dispatched")}), frozenset())
    >>> run = Snapshot(ref.tasks | {("t2", "d", "dispatched")}, frozenset())
    >>> o = with_probes(verdict("hotload", 9, ref, run, 1.0), {"p1": ["1.0.0"]}, ["p1", "p2"], 3, 3)
    >>> o.checked, o.lost, o.duplicated, o.correct
    (3, 1, 1, False)
    >>> o.note
    "extra ('t2', 'd', 'dispatched'); 3 versions published, 3 acknowledged; 1 probes unscored, 0 scored twice"
    """
    counts = Counter({e: len(scored.get(e, [])) for e in want})
    lost = sum(1 for n in counts.values() if n == 0)
    dup = sum(n - 1 for n in counts.values() if n > 1)
    probes = (
        f"{len(want)} probes scored once each"
        if not (lost or dup)
        else f"{lost} probes unscored, {dup} scored twice"
    )
    note = f"{published} versions published, {accepted} acknowledged; {probes}"
    return replace(
        base,
        checked=base.checked + len(want),
        lost=base.lost + lost,
        duplicated=base.duplicated + dup,
        correct=base.correct and lost == 0 and dup == 0,
        note=f"{base.note}; {note}".lstrip("; "),
    )


def publish_every_second(ctx: Context, seconds: float = 12.0) -> Outcome:
    """The reference's input over ``seconds``; a new pack version every second meanwhile."""
    ref = ctx.reference().snapshot
    items = ctx.items()
    run = uuid.uuid4().hex[:8]
    ids = {"name": f"chaos-probe-{run}", "rule": f"chaos{run}.probe", "item": f"PROBE-{run}"}
    with database(ctx.base.dev) as url, space(ctx.base, ctx.work, sql_url=url) as sp:
        _publish(sp, ids, "1.0.0")
        sp.start_worker()
        _wait_version(sp, ids["name"], "1.0.0")
        producer = make_producer(sp.settings)  # one for the whole plan
        start, published, next_at = time.monotonic(), 1, time.monotonic() + 1.0
        for i, (source, key, value) in enumerate(items):
            producer.produce(getattr(sp.settings.topics, source), key=key.encode(), value=value)
            producer.poll(0)
            ahead = start + seconds * (i + 1) / len(items) - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
            if time.monotonic() >= next_at:
                _publish(sp, ids, f"1.0.{published}")
                # the next one a second after this one *returned*: on a loaded machine a publish
                # (validate, compile, sign, deliver) can take over a second, and catching up on
                # the missed seconds published after every item (265 versions, > 600 s)
                published, next_at = published + 1, time.monotonic() + 1.0
        if producer.flush(60):
            raise BenchError("the producer could not deliver the scenario input within 60 s")
        t0 = time.monotonic()
        wait_caught_up(sp)
        got = wait_sql(url, ref)
        recovery = time.monotonic() - t0
        scored = scored_versions(sp, ids["rule"])
        accepted = _accepted(sp, ids["name"])
    base = verdict("hotload", len(items), ref, got, recovery)
    return with_probes(base, scored, probe_ids(items), published, accepted)


def scored_versions(sp: Space, rule: str) -> dict[str, list[str]]:
    """Probe event id → the versions that scored it (first publication of each warning)."""
    out: dict[str, list[str]] = {}
    seen: set[str] = set()
    for _, raw in read_topic(sp.settings, [sp.settings.topics.alerts]):
        alert = json.loads(raw)
        if alert.get("occurrences") != 1:
            continue
        for reason in alert["reasons"]:
            if reason["id"] == rule and alert["alert_id"] not in seen:
                seen.add(alert["alert_id"])
                out.setdefault(alert["evidence"][0], []).append(reason["version"])
    return out


def _publish(sp: Space, ids: dict[str, str], version: str) -> None:
    path = sp.work / f"probe-{version}.yaml"
    path.write_text(PACK.format(version=version, **ids), encoding="utf-8")
    publish_pack(sp.settings, Path(path), "chaos")


def _statuses(sp: Space, name: str) -> list[dict[str, str]]:
    records = [json.loads(v) for _, v in read_topic(sp.settings, [sp.settings.topics.status], 1.0)]
    return [r for r in records if r.get("name") == name]


def _wait_version(sp: Space, name: str, version: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sp.alive()
        if any(
            r["version"] == version and r["status"] in {"active", "accepted"}
            for r in _statuses(sp, name)
        ):
            return
    raise BenchError(f"the worker never activated the probe pack {name} {version}")


def _accepted(sp: Space, name: str) -> int:
    return len({r["version"] for r in _statuses(sp, name) if r["status"] in {"active", "accepted"}})
