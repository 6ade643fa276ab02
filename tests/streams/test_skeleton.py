"""Source agents driven through Faust's test context: ingest, scoring, warnings, dead letters."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from schemas.sample_stream import generate

if TYPE_CHECKING:
    from streams.app import RiskLoopApp
    from tests.streams.conftest import Sent


def inspection(**overrides: Any) -> dict[str, Any]:
    base = next(e.event for e in generate(40, seed=3) if e.source == "inspections")
    at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return {
        **base,
        "event_time": at,
        "outcome": "fail",
        "critical_count": 2,
        "violations": [{"code": "C03", "severity": "critical", "description": "冷藏温度超标"}] * 2,
        **overrides,
    }


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()


def metric(app: RiskLoopApp, name: str, **labels: str) -> float:
    return app.worker.runtime.metrics.registry.get_sample_value(name, labels) or 0.0


async def test_failed_inspection_raises_warning_and_task(app: RiskLoopApp, sent: Sent) -> None:
    ev = inspection()
    async with app.agents["inspections"].test_context() as agent:
        await agent.put(encode(ev), key=ev["uscc"].encode())
    alerts = sent.on("alerts")
    assert alerts, sent.topics()
    assert {a["entity"] for a in alerts} == {ev["uscc"]}
    assert any(r["id"] == "inspections.critical_failure" for a in alerts for r in a["reasons"])
    assert all(a["correlation_id"] == ev["event_id"] for a in alerts)
    commands = sent.on("riskloop.task-commands")
    assert commands
    assert commands[0]["alert"]["alert_id"] == alerts[0]["alert_id"]


async def test_passing_inspection_raises_nothing(app: RiskLoopApp, sent: Sent) -> None:
    ev = inspection(outcome="pass", critical_count=0, violations=[])
    async with app.agents["inspections"].test_context() as agent:
        await agent.put(encode(ev), key=ev["uscc"].encode())
    assert sent.on("alerts") == []


async def test_bad_records_are_dead_lettered_and_counted(app: RiskLoopApp, sent: Sent) -> None:
    good = inspection(outcome="pass", critical_count=0, violations=[])
    bad_uscc = inspection(event_id="x-2", uscc="91330106MA2B0X3J0D")
    payloads = [encode(good), encode(good), b"\xff\xfe not json", encode(bad_uscc)]
    async with app.agents["inspections"].test_context() as agent:
        for p in payloads:
            await agent.put(p, key=b"k")
    dead = sent.on("deadletter")
    assert (
        sorted(d["reason"] for d in dead) == ["bad_encoding", "bad_uscc"]
        or sorted(d["reason"] for d in dead)[1] == "bad_uscc"
    )
    assert all(d["topic"] for d in dead)
    src = "inspections"
    total_in = metric(app, "riskloop_events_in_total", source=src)
    accepted = metric(app, "riskloop_events_accepted_total", source=src)
    dup = metric(app, "riskloop_events_duplicate_total", source=src)
    dlq = sum(
        metric(app, "riskloop_events_deadlettered_total", source=src, reason=r)
        for r in {d["reason"] for d in dead}
    )
    assert (total_in, accepted, dup, dlq) == (4, 1, 1, 2)
    assert total_in == accepted + dup + dlq
