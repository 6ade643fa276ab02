"""A disposal through the real task and feedback agents: the feedback record ends the warning,
counts in its rule's precision and enters the enterprise's profile — and so does the format
before it (the whole ``TaskCase``), which may be in flight when a worker is upgraded."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from loop.profile import EntityProfile
from loop.task_opening import TaskCase
from schemas.internal import TaskFeedback
from streams.handle import PROFILES, TASKS, load
from tests.streams.conftest import on_topic
from tests.streams.test_skeleton import encode, inspection

if TYPE_CHECKING:
    from streams.app import RiskLoopApp
    from tests.streams.conftest import Sent


@pytest.mark.parametrize("old_format", [False, True], ids=["record", "whole_case"])
async def test_a_disposal_ends_its_warning(app: RiskLoopApp, sent: Sent, old_format: bool) -> None:
    ev = inspection()
    async with app.agents["inspections"].test_context() as agent:
        await agent.put(encode(ev), key=ev["uscc"].encode())
    commands = [(k, v) for t, k, v in sent.messages if t == "riskloop.task-commands"]
    assert commands, "the inspection opened no task"
    key, _ = commands[0]
    assert key is not None
    task_id = key.decode()
    async with app.agents["tasks"].test_context() as agent:
        on_topic(agent, app.worker.topics.task_commands.get_topic_name())
        for k, value in commands:
            await agent.put(value, key=k)
    case = load(app.worker, TASKS, task_id)
    assert case is not None
    dept, now = case.task.department, datetime.now(UTC).isoformat()
    steps = [
        ("sign", {}),
        ("start", {}),
        ("dispose", {"result": "false_alarm", "evidence": ["sha256:" + "a" * 64 + "/p.jpg"]}),
    ]
    async with app.agents["tasks"].test_context() as agent:
        on_topic(agent, app.worker.topics.dispositions.get_topic_name())
        for n, (action, extra) in enumerate(steps):
            await agent.put(
                encode(
                    {
                        "event_id": f"fb-{n}",
                        "event_time": now,
                        "task_id": task_id,
                        "department": dept,
                        "action": action,
                        "actor": f"u-{dept}",
                        **extra,
                    }
                ),
                key=key,
            )
    verdicts = [v["outcome"] for v in sent.on("tasks.verdicts")]
    assert verdicts == ["applied"] * 3
    ((entity, record),) = [(k, v) for t, k, v in sent.messages if t == "riskloop.feedback"]
    fed = TaskFeedback.model_validate_json(record)  # the record of the data standard
    assert (fed.task_id, fed.result.value) == (task_id, "false_alarm")
    if old_format:
        disposed = load(app.worker, TASKS, task_id)
        assert isinstance(disposed, TaskCase)
        record = disposed.model_dump_json().encode()
    async with app.agents["feedback"].test_context() as agent:
        await agent.put(record, key=entity)
    ended = [a for a in sent.on("alerts") if a["alert_id"] == case.task.alert_id]
    assert ended[-1]["state"] == "false_alarm"
    rules = [k for k in app.worker.store.keys("precision", None)]
    assert rules
    assert all(app.worker.tables.precision[r] == {"confirmed": 0, "false_alarm": 1} for r in rules)
    profile = load(app.worker, PROFILES, ev["uscc"])
    assert isinstance(profile, EntityProfile)
    assert profile.counts.get("disposition") == 1
    assert json.loads(record)  # still JSON on the topic
