"""Hostile records through the inspections agent: each dead-lettered with its reason, every
dead letter small enough for the broker, and the next good record still raises its warning."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tests.streams.test_skeleton import encode, inspection, metric

if TYPE_CHECKING:
    from streams.app import RiskLoopApp
    from tests.streams.conftest import Sent

BROKER_MAX = 1_000_000


async def test_hostile_records_are_dead_lettered_and_the_agent_goes_on(
    app: RiskLoopApp, sent: Sent
) -> None:
    good = inspection()
    hostile = {
        "bad_text": json.dumps({**inspection(event_id="h1"), "entity_name": "某\ud800"}).encode(),
        "bad_value": encode(inspection(event_id="h2", score=10**400)),
        "bad_identifier": encode(inspection(event_id="h\x003")),
        "wrong_type": encode(inspection(event_id="h4", critical_count="2")),
        "duplicate_key": encode(inspection(event_id="h5"))[:-1] + b', "event_id": "h6"}',
        "too_large": encode(inspection(event_id="h7", address="x" * 1_000_001)),
    }
    async with app.agents["inspections"].test_context() as agent:
        for payload in hostile.values():
            await agent.put(payload, key=b"k")
        await agent.put(encode(good), key=good["uscc"].encode())
    dead = [(t, v) for t, _, v in sent.messages if t == "deadletter"]
    assert sorted(json.loads(v)["reason"] for _, v in dead) == sorted(hostile)
    assert all(len(v) < BROKER_MAX for _, v in dead)
    alerts = sent.on("alerts")
    assert alerts
    assert {a["correlation_id"] for a in alerts} == {good["event_id"]}
    src = "inspections"
    assert metric(app, "riskloop_events_accepted_total", source=src) == 1
    assert metric(app, "riskloop_events_in_total", source=src) == len(hostile) + 1


async def test_a_refusal_after_the_door_is_not_counted_twice(app: RiskLoopApp, sent: Sent) -> None:
    """A well-formed disposition for a task nobody holds is accepted at the door and refused by
    the task stage: one dead letter, counted once (accepted + dispositions_rejected), so
    in = accepted + dead-lettered + duplicates still holds for the source."""
    at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    orphan = {
        "event_id": "d-1",
        "event_time": at,
        "task_id": "task-nobody",
        "department": "hz_market",
        "action": "sign",
        "actor": "u1",
    }
    broken = {**orphan, "event_id": "d-2", "actor": "a" * 129}
    async with app.agents["tasks"].test_context() as agent:
        await agent.put(encode(orphan), key=b"task-nobody")
        await agent.put(encode(broken), key=b"task-nobody")
    dead = sorted(json.loads(v)["reason"] for t, _, v in sent.messages if t == "deadletter")
    assert dead == ["bad_identifier", "unknown_task"]
    src = "dispositions"
    counts = {
        name: metric(app, f"riskloop_events_{name}_total", source=src)
        for name in ("in", "accepted", "duplicate")
    }
    refused = metric(
        app, "riskloop_events_deadlettered_total", source=src, reason="bad_identifier"
    ) + metric(app, "riskloop_events_deadlettered_total", source=src, reason="unknown_task")
    assert (counts["in"], counts["accepted"], refused, counts["duplicate"]) == (2, 1, 1, 0)
    assert metric(app, "riskloop_dispositions_rejected_total", reason="unknown_task") == 1
    # the sender is answered too: the CLI and the API wait for this verdict
    verdicts = [json.loads(v) for t, _, v in sent.messages if t == "tasks.verdicts"]
    assert [(v["event_id"], v["outcome"], v["reason"]) for v in verdicts] == [
        ("d-1", "refused", "unknown_task")
    ]
