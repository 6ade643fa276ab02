"""Hot-loading a rule pack mid-stream on the real broker (issue: rule packs, Done-when).

A worker scores a steady stream; v1.1.0 is published mid-stream: every event is scored exactly
once, by v1.0.0 before the swap and v1.1.0 after, with no gap and no double scoring. A broken
v1.2.0 is refused and v1.1.0 keeps running; rollback restores v1.0.0.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from schemas.validation.uscc import make_uscc
from streams.producer import make_producer
from streams.publish import publish_pack, rollback_pack, send
from tests.integration.conftest import tail_consumer

if TYPE_CHECKING:
    from pathlib import Path

    from config.settings import Settings

PACK = """\
name: {name}
version: {version}
owner: test
description: hot-swap probe
rules:
  - id: {rule}
    title: 热加载探针
    sources: [inspections]
    item_code: {item}
    condition: {condition}
    group_key: [event_id]
    level: blue
    score: {score}
    examples:
      - name: fires on its item
        fire: true
        event: {{item_code: {item}}}
      - name: silent on other items
        fire: false
        event: {{item_code: OTHER}}
"""


def write_pack(tmp: Path, version: str, *, condition: str, score: int, ids: dict[str, str]) -> Path:
    path = tmp / f"hotswap-{version}.yaml"
    path.write_text(
        PACK.format(version=version, condition=condition, score=score, **ids), encoding="utf-8"
    )
    return path


def wait_status(
    s: Settings, status_consumer: Any, name: str, version: str, want: str, timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = status_consumer.poll(0.5)
        if msg is None or msg.error():
            continue
        rec = json.loads(msg.value())
        if (
            rec["worker"].startswith(s.app_id)
            and rec["name"] == name
            and rec["version"] == version
            and rec["status"] == want
        ):
            return rec
    raise AssertionError(f"no {want} status for {name} {version} from {s.app_id}")


def test_publish_swap_refuse_rollback(live_settings: Settings, worker, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    s = live_settings
    run = uuid.uuid4().hex[:8]
    ids = {"name": f"hotswap-{run}", "rule": f"hotswap{run}.probe", "item": f"HOTSWAP-{run}"}
    uscc = make_uscc(f"hot-{run}", "330106")
    cond = f'event.item_code == "{ids["item"]}"'
    status = tail_consumer(s.bootstrap_servers, [s.topics.status])
    alerts = tail_consumer(s.bootstrap_servers, [s.topics.alerts])
    publish_pack(s, write_pack(tmp_path, "1.0.0", condition=cond, score=10, ids=ids), "test")
    worker()
    wait_status(s, status, ids["name"], "1.0.0", "active", timeout=90)

    producer = make_producer(s)
    sent: list[str] = []

    def produce(n: int, pause: float = 0.02) -> None:
        for _ in range(n):
            event_id = f"hot-{run}-{len(sent):03d}"
            event = {
                "event_id": event_id,
                "event_time": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
                "uscc": uscc,
                "entity_name": "杭州热加载测试餐饮有限公司",
                "region_code": "330106",
                "item_code": ids["item"],
                "outcome": "pass",
            }
            producer.produce(
                s.topics.inspections,
                key=uscc.encode(),
                value=json.dumps(event, ensure_ascii=False).encode(),
            )
            producer.poll(0)
            sent.append(event_id)
            time.sleep(pause)
        producer.flush(10)

    produce(30, pause=0.05)
    publish_pack(
        s, write_pack(tmp_path, "1.1.0", condition=cond, score=20, ids=ids), "test"
    )  # mid-stream
    produce(10, pause=0.05)
    wait_status(s, status, ids["name"], "1.1.0", "accepted")
    produce(20, pause=0.05)
    # a broken pack: type error in the condition, published past the CLI's own checks
    broken = write_pack(
        tmp_path, "1.2.0", condition=f'event.critical_count > "x" && {cond}', score=30, ids=ids
    )
    send(
        s,
        s.topics.rulepacks,
        ids["name"],
        json.dumps(
            {
                "name": ids["name"],
                "version": "1.2.0",
                "content_hash": "",
                "yaml": broken.read_text(),
                "published_by": "test",
                "published_at": datetime.now(UTC).isoformat(),
            }
        ).encode(),
    )
    refused = wait_status(s, status, ids["name"], "1.2.0", "refused")
    assert ids["rule"] in refused["reason"]
    assert "critical_count" in refused["reason"]
    produce(5)
    rollback_pack(s, ids["name"], "test")
    wait_status(s, status, ids["name"], "1.0.0", "accepted")
    produce(5)

    versions: dict[str, list[str]] = {}
    seen_alerts: set[str] = set()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(versions) < len(sent):
        msg = alerts.poll(0.5)
        if msg is None or msg.error():
            continue
        alert = json.loads(msg.value())
        if alert["entity"] != uscc or alert["occurrences"] != 1:
            continue  # the first publication of each event's own warning (group_key = event id)
        for reason in alert["reasons"]:
            if reason["id"] == ids["rule"] and alert["alert_id"] not in seen_alerts:
                seen_alerts.add(alert["alert_id"])
                versions.setdefault(alert["evidence"][0], []).append(reason["version"])
    assert sorted(versions) == sorted(sent), f"{len(versions)} of {len(sent)} events scored"
    assert all(len(v) == 1 for v in versions.values()), "an event was scored twice"
    order = [versions[e][0] for e in sent]
    first, second, third, fourth = order[:30], order[30:60], order[60:65], order[65:]
    assert set(second[10:]) == {"1.1.0"}, (
        "events sent after the swap was acknowledged",
        " ".join(v[2] for v in order),
    )
    switch = (first + second).index("1.1.0")
    assert set((first + second)[:switch]) == {"1.0.0"}, order
    assert set((first + second)[switch:]) == {"1.1.0"}, order
    assert set(third) == {"1.1.0"}, "the refused pack must not replace the running one"
    assert set(fourth) == {"1.0.0"}, "rollback restores the previous version"
