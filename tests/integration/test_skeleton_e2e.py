"""The walking skeleton on the real broker: produce with confluent-kafka, a real `riskloop
worker` subprocess, consume the alert (and the dead letter) — no mocks anywhere."""

from __future__ import annotations

import json
import uuid

from schemas.validation.uscc import make_uscc
from streams.deadletters import original_value
from tests.integration.conftest import collect, failed_inspection, produce, tail_consumer


def test_failed_inspection_flows_to_alerts(live_settings, worker) -> None:  # type: ignore[no-untyped-def]
    run = uuid.uuid4().hex[:8]
    uscc = make_uscc(f"e2e-{run}", "330106")
    failed = failed_inspection(f"e2e-{run}-1", uscc)
    passed = {
        **failed,
        "event_id": f"e2e-{run}-2",
        "outcome": "pass",
        "critical_count": 0,
        "violations": [],
    }
    s = live_settings
    consumer = tail_consumer(s.bootstrap_servers, [s.topics.alerts, s.topics.deadletter])
    worker()
    produce(
        s.bootstrap_servers,
        s.topics.inspections,
        [
            (uscc.encode(), json.dumps(failed, ensure_ascii=False).encode()),
            (uscc.encode(), json.dumps(passed, ensure_ascii=False).encode()),
            (b"garbage", b"\xff not json " + run.encode()),
        ],
    )

    def is_ours_dead(t: str, v: dict) -> bool:
        return t == s.topics.deadletter and run.encode() in original_value(
            s, json.dumps(v).encode()
        )

    def done(msgs: list[tuple[str, dict]]) -> bool:
        return any(is_ours_dead(t, v) for t, v in msgs) and any(
            t == s.topics.alerts and failed["event_id"] in v.get("evidence", []) for t, v in msgs
        )

    msgs = collect(consumer, done, timeout=90)
    consumer.close()
    alerts = [
        v
        for t, v in msgs
        if t == s.topics.alerts and v.get("correlation_id", "").startswith(f"e2e-{run}")
    ]
    assert [a["evidence"] for a in alerts] == [[failed["event_id"]]], msgs
    assert alerts[0]["entity"] == uscc
    assert alerts[0]["level"] in {"orange", "red"}
    dead = [v for t, v in msgs if is_ours_dead(t, v)]
    assert dead, "the garbage record must be dead-lettered"
