"""Hostile records through the inspections agent: each dead-lettered with its reason, every
dead letter small enough for the broker, and the next good record still raises its warning."""

from __future__ import annotations

import json

from streams.app import RiskLoopApp
from tests.streams.conftest import Sent
from tests.streams.test_skeleton import encode, inspection, metric

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
    assert alerts and {a["correlation_id"] for a in alerts} == {good["event_id"]}
    src = "inspections"
    assert metric(app, "riskloop_events_accepted_total", source=src) == 1
    assert metric(app, "riskloop_events_in_total", source=src) == len(hostile) + 1
