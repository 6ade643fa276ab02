"""Poison control records on the real broker: refused with a status, the worker keeps scoring,
and a restart with the poison still on the compacted topics starts clean (issue: "Nothing a
sender does can stop a worker or lose a record", items 1 and 11).

The records are produced raw, past every CLI check, and signed with a trusted key: a trusted
publisher's mistake (or stolen key) must not stop a worker either. Unsigned ones are refused
before they are read (tests/integration/test_control_signatures.py).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from infra.process import stop_child
from schemas.validation.uscc import make_uscc
from streams.control_keyring import load_keyring
from streams.producer import make_producer
from streams.publish import publish_pack
from tests.integration.conftest import tail_consumer
from tests.integration.test_hotload import PACK, wait_status, write_pack

if TYPE_CHECKING:
    from pathlib import Path

    from config.settings import Settings


def poisons(s: Settings, ids: dict[str, str]) -> list[tuple[str, str, bytes | None]]:
    """(topic, key, value) of records that each stopped every worker, or slipped through."""
    now = datetime.now(UTC)
    overflow = PACK.format(
        version="2.0.0", condition=f'event.item_code == "{ids["item"]}"', score=1, **ids
    ).replace(
        f"event: {{item_code: {ids['item']}}}",
        f"event: {{item_code: {ids['item']}, event_time: '+999999999999999999999d'}}",
    )

    def pack(version: str, text: str, **extra: Any) -> bytes:
        return json.dumps(
            {
                "name": ids["name"],
                "version": version,
                "content_hash": "",
                "yaml": text,
                "published_by": "mallory",
                "published_at": now.isoformat(),
                **extra,
            }
        ).encode()

    downgrade = PACK.format(
        version="0.0.1", condition=f'event.item_code == "{ids["item"]}"', score=1, **ids
    )
    model = {
        "name": "equipment-anomaly",
        "factory": "equipment-anomaly",
        "version": "v666",
        "published_by": "mallory",
        "published_at": now.isoformat(),
    }
    silence = {
        "silence_id": "forever",
        "source": "inspections",
        "reason": "quiet",
        "creator": "mallory",
        "starts_at": now.isoformat(),
        "ends_at": "9999-12-31T00:00:00+00:00",
    }
    t = s.topics
    return [
        (t.rulepacks, ids["name"], pack("2.0.0", overflow)),
        (t.rulepacks, ids["name"], pack("0.0.1", downgrade, rollback_of="9.9.9")),
        (t.rulepacks, "complaints", None),
        (t.geofences, "deep", b"[" * 100_000),
        (
            t.models,
            "equipment-anomaly",
            json.dumps(model)
            .encode()
            .replace(b'"version"', b'"params": {"span": 1e400}, "version"'),
        ),
        (
            t.models,
            "equipment-anomaly",
            json.dumps({**model, "published_at": "9999-01-01T00:00:00+00:00"}).encode(),
        ),
        (t.silences, "forever", json.dumps(silence).encode()),
    ]


def test_poison_control_records_are_refused_and_the_worker_scores_on(  # type: ignore[no-untyped-def]
    live_settings: Settings, worker, tmp_path: Path
) -> None:
    s = live_settings
    run = uuid.uuid4().hex[:8]
    ids = {"name": f"poison-{run}", "rule": f"poison{run}.probe", "item": f"POISON-{run}"}
    uscc = make_uscc(f"poison-{run}", "330106")
    cond = f'event.item_code == "{ids["item"]}"'
    status = tail_consumer(s.bootstrap_servers, [s.topics.status])
    alerts = tail_consumer(s.bootstrap_servers, [s.topics.alerts])
    publish_pack(s, write_pack(tmp_path, "1.0.0", condition=cond, score=10, ids=ids), "test")
    proc = worker()
    wait_status(s, status, ids["name"], "1.0.0", "active", timeout=120)

    producer = make_producer(s)
    ring = load_keyring(s)  # signed by a trusted key: poison must not pass for being signed
    for topic, key, value in poisons(s, ids):
        raw = key.encode()
        producer.produce(topic, key=raw, value=value, headers=ring.sign(topic, raw, value))
    assert producer.flush(30) == 0

    def refusals(timeout: float = 90, *, started: bool = False) -> None:
        """The refusals (in any order: status has several partitions), each with a reason
        that names the problem; ``started``: and the probe pack announced active after them."""
        want = {
            (ids["name"], "2.0.0", "refused"): "duration",
            (ids["name"], "0.0.1", "refused"): "rollback_of",
            ("deep", "", "refused"): "nested",
            ("forever", "", "refused"): "longer than the allowed",
        }
        if started:
            want[(ids["name"], "1.0.0", "active")] = ""
        deadline = time.monotonic() + timeout
        while want and time.monotonic() < deadline:
            msg = status.poll(0.5)
            if msg is None or msg.error():
                continue
            rec = json.loads(msg.value())
            key = (rec["name"], rec["version"], rec["status"])
            if rec["worker"].startswith(s.app_id) and key in want:
                assert want[key] in rec["reason"], rec
                del want[key]
        assert not want, f"not seen: {sorted(want)}"

    def scores(n: int) -> None:
        """A matching inspection still raises its warning, scored by the probe pack 1.0.0."""
        event_id = f"poison-{run}-{n}"
        event = {
            "event_id": event_id,
            "event_time": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
            "uscc": uscc,
            "entity_name": "杭州投毒测试餐饮有限公司",
            "region_code": "330106",
            "item_code": ids["item"],
            "outcome": "pass",
        }
        producer.produce(s.topics.inspections, key=uscc.encode(), value=json.dumps(event).encode())
        assert producer.flush(10) == 0
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            msg = alerts.poll(0.5)
            if msg is None or msg.error():
                continue
            alert = json.loads(msg.value())
            if event_id in alert["evidence"] and alert["state"] != "silenced":
                assert [r["version"] for r in alert["reasons"] if r["id"] == ids["rule"]] == [
                    "1.0.0"
                ]
                return
        raise AssertionError(f"no warning for {event_id}: the worker stopped scoring")

    refusals()
    scores(1)
    assert proc.poll() is None, "the worker exited on a control record"

    stop_child(proc)  # the poison stays on the compacted topics and is replayed first
    proc = worker()
    refusals(timeout=120, started=True)
    scores(2)
    assert proc.poll() is None, "the restarted worker exited on a replayed control record"
