"""An extension (延期) through the real task agent: asked, refused with a reason, asked again
and granted, each answered on ``tasks.verdicts`` and recorded on ``tasks.events``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from loop.deadlines import CST, END_OF_DAY
from loop.task_opening import TaskCase
from tests.streams.conftest import on_topic
from tests.streams.test_skeleton import encode, inspection

if TYPE_CHECKING:
    from streams.app import RiskLoopApp
    from tests.streams.conftest import Sent


def _workday_after(moment: datetime, days: int, app: RiskLoopApp) -> date:
    """The ``days``-th working day after ``moment``'s CST date, on the worker's calendar."""
    day, cal = moment.astimezone(CST).date(), app.worker.runtime.loop.calendar
    while days:
        day += timedelta(days=1)
        days -= cal.is_workday(day)
    return day


async def test_extension_asked_refused_asked_again_and_granted(
    app: RiskLoopApp, sent: Sent
) -> None:
    ev = inspection()
    async with app.agents["inspections"].test_context() as agent:
        await agent.put(encode(ev), key=ev["uscc"].encode())
    commands = [(k, v) for t, k, v in sent.messages if t == "riskloop.task-commands"]
    async with app.agents["tasks"].test_context() as agent:
        on_topic(agent, app.worker.topics.task_commands.get_topic_name())
        for key, value in commands:
            await agent.put(value, key=key)
    ((task_id, stored),) = list(app.worker.tables.tasks.items())[:1]
    case = stored if isinstance(stored, TaskCase) else TaskCase.model_validate(stored)
    dept, before = case.task.department, case.task.dispose_deadline
    first = _workday_after(before, 3, app)
    second = _workday_after(before, 5, app)
    now = datetime.now(UTC).isoformat()

    def disp(n: int, action: str, who: str, **extra: Any) -> bytes:
        return encode(
            {
                "event_id": f"ext-{n}",
                "event_time": now,
                "task_id": task_id,
                "department": who,
                "action": action,
                "actor": f"u-{who}",
                **extra,
            }
        )

    def until(day: date) -> str:
        return datetime.combine(day, END_OF_DAY, CST).isoformat()

    sequence = [
        disp(1, "sign", dept),
        disp(2, "extend", dept, reason="需联合住建部门检查", extend_to=until(first)),
        disp(3, "grant_extension", dept),  # a department cannot grant itself more time
        disp(4, "refuse_extension", "risk_centre", reason="三日内可完成"),
        disp(5, "extend", dept, reason="企业停产, 需复查", extend_to=until(second)),
        disp(6, "extend", dept, reason="again", extend_to=until(second)),  # one at a time
        disp(7, "grant_extension", "risk_centre"),
    ]
    async with app.agents["tasks"].test_context() as agent:
        on_topic(agent, app.worker.topics.dispositions.get_topic_name())
        for value in sequence:
            await agent.put(value, key=task_id.encode())
    verdicts = [json.loads(v) for t, _, v in sent.messages if t == "tasks.verdicts"]
    assert [(v["event_id"], v["outcome"], v["reason"]) for v in verdicts] == [
        ("ext-1", "applied", None),
        ("ext-2", "applied", None),
        ("ext-3", "refused", "wrong_department"),
        ("ext-4", "applied", None),
        ("ext-5", "applied", None),
        ("ext-6", "refused", "invalid_transition"),
        ("ext-7", "applied", None),
    ]
    after = app.worker.tables.tasks[task_id]
    after = after if isinstance(after, TaskCase) else TaskCase.model_validate(after)
    assert after.task.dispose_deadline == datetime.combine(second, END_OF_DAY, CST)
    assert after.task.extensions == 1
    assert after.task.extension_to is None
    story = [json.loads(v) for t, _, v in sent.messages if t == "tasks.events"]
    reasons = [e["reason"] for e in story if e["task_id"] == task_id][-5:]
    assert reasons[1] == f"extension asked to {first.isoformat()}: 需联合住建部门检查"
    assert reasons[2] == f"extension to {first.isoformat()} refused: 三日内可完成"
    assert reasons[4].startswith("extension granted: dispose deadline")
