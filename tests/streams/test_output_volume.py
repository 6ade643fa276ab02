"""Output volume through the real agents (issue #16, goals in ``riskloop bench``): on the
1,500-event generated sample (``schemas.sample_stream``, seed 7), what the agents send per input
event. Deterministic (Faust's test context, no broker), so a regression shows here before a
bench run: the alerts topic carries notified records and moves of state or level in brief
(loop/alert_topic.py), and a task command goes out only when a task must open or change.
"""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from schemas.sample_stream import generate
from tests.streams.conftest import Sent, put_rekeyed

if TYPE_CHECKING:
    from streams.app import RiskLoopApp

SOURCES = ("inspections", "complaints", "equipment", "trucks")
EVENTS = 1500


async def test_alerts_and_task_commands_per_input_event(app: RiskLoopApp, sent: Sent) -> None:
    events = generate(EVENTS, seed=7)
    async with AsyncExitStack() as stack:
        agents = {s: await stack.enter_async_context(app.agents[s].test_context()) for s in SOURCES}
        for e in events:
            await agents[e.source].put(json.dumps(e.event).encode(), key=e.key.encode())
    rekeyed = [(k, v) for t, k, v in sent.messages if t == "riskloop.rekeyed"]
    await put_rekeyed(app, rekeyed)
    changes = sum(
        s.value
        for m in app.worker.runtime.metrics.warnings.collect()
        for s in m.samples
        if s.name.endswith("_total")
    )
    records = [v for t, _, v in sent.messages if t == "alerts"]
    alerts = [json.loads(v) for v in records]
    warnings = {a["alert_id"] for a in alerts}
    commands = sent.on("riskloop.task-commands")
    opened = {c["alert"]["alert_id"] for c in commands if not c["alert"]["case_task_id"]}
    raised = [c for c in commands if c["alert"]["case_task_id"]]
    size = sum(len(v) for v in records) / max(1, len(records))
    print(
        f"\n{EVENTS} events: {int(changes)} warning changes, {len(alerts)} alert records "
        f"({size:.0f} B each) for {len(warnings)} warnings; {len(commands)} task commands "
        f"({len(opened)} opened, {len(raised)} raised a case)"
    )
    assert len(warnings) > 50, "the sample raised too few warnings to say anything"
    # every warning's first record is on the topic; repeats between notices are not
    assert changes > 1.5 * len(alerts), "the topic re-sends every change"
    assert len(alerts) / EVENTS < 0.2
    # brief: no evidence records, no notice history (SQL keeps them)
    assert all(a["evidence_records"] == [] and a["history"] == [] for a in alerts)
    assert size < 2500
    # one command per task opened, one per case raised: never one per warning change
    assert len(commands) == len(opened) + len(raised)
    assert len(opened) == len({c["alert"]["alert_id"] for c in commands}) - len(
        {c["alert"]["alert_id"] for c in raised} - opened
    )


async def test_every_task_command_opens_or_changes_a_task(app: RiskLoopApp, sent: Sent) -> None:
    """A task command only when a task must open or change (issue #16: 20,000 events once made
    10,502 commands for 809 tasks): fed to the real task agent, each command of the sample
    opens its task or raises its case's task — none finds nothing to do."""
    from tests.streams.conftest import on_topic

    events = generate(EVENTS, seed=7)
    async with AsyncExitStack() as stack:
        agents = {s: await stack.enter_async_context(app.agents[s].test_context()) for s in SOURCES}
        for e in events:
            await agents[e.source].put(json.dumps(e.event).encode(), key=e.key.encode())
    await put_rekeyed(app, [(k, v) for t, k, v in sent.messages if t == "riskloop.rekeyed"])
    commands = [(k, v) for t, k, v in sent.messages if t == "riskloop.task-commands"]
    idle: list[bytes | None] = []
    async with app.agents["tasks"].test_context() as agent:
        on_topic(agent, app.worker.topics.task_commands.get_topic_name())
        for key, value in commands:
            before = len(sent.messages)
            await agent.put(value, key=key)
            if not any(t == "tasks.events" for t, _, _ in sent.messages[before:]):
                idle.append(key)
    opened = {k for t, k, _ in sent.messages if t == "tasks.events"}
    print(
        f"\n{EVENTS} events: {len(commands)} task commands, {len(opened)} tasks, "
        f"{len(idle)} commands that changed nothing"
    )
    assert len(opened) > 50, "the sample opened too few tasks to say anything"
    assert idle == []
