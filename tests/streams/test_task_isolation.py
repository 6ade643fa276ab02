"""Whatever goes wrong with one task must not stop the others (issue: working days, point 2).

Before: an exception in ``handle_command`` (a routing or calendar error) or in one task's
supervision escaped the agent, which stopped the partition's tasks — and, since the wall tick
runs supervision first, its dedup expiry and event-clock ticks (absence rules) too.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from faust.types import TP

from streams.rekey import partition_of
from streams.runtime import Clock
from streams.timers import WALL_TICK
from tests.streams.conftest import on_topic
from tests.streams.test_redelivery import _inspect
from tests.streams.test_skeleton import inspection, metric

if TYPE_CHECKING:
    from streams.app import RiskLoopApp
    from tests.streams.conftest import Sent


def _at_partition(agent: Any, partition: int) -> None:
    """The test context's messages arrive on ``partition`` (ticks name their partition)."""
    make = agent.to_message

    def to_message(*args: Any, **kwargs: Any) -> Any:
        message = make(*args, **kwargs)
        message.partition, message.tp = partition, TP(message.topic, partition)
        return message

    agent.to_message = to_message


async def _commands(app: RiskLoopApp, sent: Sent) -> list[tuple[bytes | None, bytes]]:
    await _inspect(app, inspection())
    commands = [(k, v) for t, k, v in sent.messages if t == "riskloop.task-commands"]
    assert commands
    sent.messages.clear()
    return commands


async def _run(app: RiskLoopApp, commands: list[tuple[bytes | None, bytes]]) -> None:
    """Feed ``commands`` (key, value) to the tasks agent as task commands."""
    async with app.agents["tasks"].test_context() as tasks:
        on_topic(tasks, app.worker.topics.task_commands.get_topic_name())
        for key, value in commands:
            await tasks.put(value, key=key)


def _dispatched(sent: Sent) -> list[dict[str, Any]]:
    """Tasks published on a department's topic."""
    tasks = (
        json.loads(raw)
        for topic, _, raw in sent.messages
        if topic.startswith("tasks.") and topic != "tasks.events"
    )
    return [task for task in tasks if "alert_id" in task]


async def test_a_command_that_cannot_open_is_dead_lettered_and_the_next_opens(
    app: RiskLoopApp, sent: Sent
) -> None:
    commands = await _commands(app, sent)
    await _run(app, [(b"broken", b'{"alert": {"level": "purple"}}'), *commands])
    dead = sent.on("deadletter")
    assert [d["source"] for d in dead] == ["task_commands"]
    assert "ValidationError" in dead[0]["message"]
    assert metric(app, "riskloop_task_errors_total", stage="open", error="ValidationError") == 1
    assert _dispatched(sent), "the good command after the broken one opened no task"


async def test_one_unreadable_task_does_not_stop_the_partitions_supervision(
    app: RiskLoopApp, sent: Sent
) -> None:
    await _run(app, await _commands(app, sent))
    good = _dispatched(sent)[0]
    # a value this release cannot read (an older format, a bad restore): not a TaskCase,
    # beside the good task in its partition of the store
    partition = partition_of(good["task_id"], app.worker.settings.topics.partitions)
    store = app.worker.store.partitions[partition]
    assert good["task_id"] in store.tables["tasks"]
    store.table("tasks")["task-broken"] = {"task": {"task_id": "task-broken"}}
    month_later = datetime.now(UTC) + timedelta(days=30)
    app.worker.runtime.clock = Clock.starting(month_later)
    sent.messages.clear()
    async with app.agents["ticks"].test_context() as ticks:
        _at_partition(ticks, partition)
        await ticks.put(WALL_TICK)
    steps = [s for s in sent.on("supervision") if s["task_id"] == good["task_id"]]
    assert {s["kind"] for s in steps} >= {"supervision"}, sent.topics()
    # 督办 also reaches the department that must act, on its own task topic (issue 17)
    on_department = [s for s in sent.on(f"tasks.{good['department']}") if "kind" in s]
    assert {s["kind"] for s in on_department} == {s["kind"] for s in steps}
    assert (
        metric(app, "riskloop_task_errors_total", stage="supervise", error="ValidationError") == 1
    )
