"""A rule pack published every second while the worker is under load.

Technique of tests/integration/test_hotload.py: a probe rule with ``group_key: [event_id]`` makes
one warning per probe event, and each warning names the pack version that scored it, so "every
event scored exactly once" is countable: no probe without a warning, none with two.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
from schemas.validation.uscc import make_uscc
from streams.producer import make_producer
from streams.publish import publish_pack

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
    condition: event.item_code == "{item}"
    group_key: [event_id]
    level: blue
    score: 10
    examples:
      - name: fires on its item
        fire: true
        event: {{item_code: {item}}}
      - name: silent on other items
        fire: false
        event: {{item_code: OTHER}}
"""


def probe_events(run: str, n: int) -> tuple[str, list[Item]]:
    """``n`` inspection events of one probe enterprise; returns (its USCC, the items)."""
    uscc = make_uscc(f"chaos-{run}", "330106")
    at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    items = []
    for i in range(n):
        event = {
            "event_id": f"probe-{run}-{i:04d}",
            "event_time": at,
            "uscc": uscc,
            "entity_name": "杭州热加载探针餐饮有限公司",
            "region_code": "330106",
            "item_code": f"PROBE-{run}",
            "outcome": "pass",
        }
        items.append(("inspections", uscc, json.dumps(event, ensure_ascii=False).encode()))
    return uscc, items


def interleave(load: list[Item], probes: list[Item]) -> list[Item]:
    """Probes spread evenly through the load.

    >>> interleave([("a", "", b"")] * 4, [("p", "", b"")] * 2)[:3]
    [('a', '', b''), ('a', '', b''), ('p', '', b'')]
    """
    step = max(1, len(load) // max(1, len(probes)))
    out: list[Item] = []
    chunks = [load[i : i + step] for i in range(0, len(load), step)]
    for i, chunk in enumerate(chunks):
        out.extend(chunk)
        if i < len(probes):
            out.append(probes[i])
    out.extend(probes[len(chunks) :])
    return out


def publish_every_second(ctx: Context, seconds: float = 12.0) -> Outcome:
    """Load + probes over ``seconds``; a new pack version every second meanwhile."""
    ref = ctx.reference().snapshot
    load = ctx.items()
    run = uuid.uuid4().hex[:8]
    ids = {"name": f"chaos-probe-{run}", "rule": f"chaos{run}.probe", "item": f"PROBE-{run}"}
    uscc, probes = probe_events(run, max(20, len(load) // 4))
    items = interleave(load, probes)
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
        scored = scored_versions(sp, uscc, ids["rule"])
        accepted = _accepted(sp, ids["name"])
    want = [json.loads(v)["event_id"] for _, _, v in probes]
    counts = Counter({e: len(scored.get(e, [])) for e in want})
    lost = sum(1 for n in counts.values() if n == 0)
    dup = sum(n - 1 for n in counts.values() if n > 1)
    base = verdict("hotload", len(items), ref, got, recovery)
    return Outcome(
        "hotload",
        len(items),
        base.checked + len(want),
        base.lost + lost,
        base.duplicated + dup,
        recovery,
        base.correct and lost == 0 and dup == 0,
        f"{published} versions published, {accepted} acknowledged; {len(want)} probes scored once each"
        if not (lost or dup)
        else f"{lost} probes unscored, {dup} scored twice",
    )


def scored_versions(sp: Space, uscc: str, rule: str) -> dict[str, list[str]]:
    """Probe event id → the versions that scored it (first publication of each warning)."""
    out: dict[str, list[str]] = {}
    seen: set[str] = set()
    for _, raw in read_topic(sp.settings, [sp.settings.topics.alerts]):
        alert = json.loads(raw)
        if alert.get("entity") != uscc or alert.get("occurrences") != 1:
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
