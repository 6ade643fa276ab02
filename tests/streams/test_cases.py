"""One incident, one case, one task, through the real agents, in three reading orders.

The calendar drills' stream (``schemas.sample_stream``, seed 21, 160 events) is read as generated,
with every complaint read after every inspection, and the other way round (each source keeps
its own order, as its topic does). Before cases were keyed by event and led by the event's own
warning, the drills disagreed on an inspection warning's task (tests/unit/loop/test_cases.py
has the mechanism); here every order must send the same task commands: the same tasks opened,
the same warnings joined to the same cases, the same cases raised to the same level.
"""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import faust.topics  # noqa: F401  (the ``sent`` fixture patches it; no ``app`` fixture here)

from loop import ids
from loop.task_opening import TaskCase
from schemas.sample_stream import GeneratedEvent, generate
from streams.app import build_app
from tests.streams.conftest import Sent, on_topic, put_rekeyed

if TYPE_CHECKING:
    from pathlib import Path

    from config.settings import Settings

SOURCES = ("inspections", "complaints", "equipment", "trucks")
Outcome = tuple[frozenset[str], frozenset[tuple[str, str]], frozenset[tuple[str, str]]]
"""Tasks opened; case links (warning, task); each task's final level and warning."""


def _later(events: list[GeneratedEvent], source: str) -> list[GeneratedEvent]:
    """The same events with ``source``'s read after all the others' (its own order kept)."""
    return [e for e in events if e.source != source] + [e for e in events if e.source == source]


async def _tasks(settings: Settings, sent: Sent, events: list[GeneratedEvent]) -> Outcome:
    """Tasks opened, case links and every task's final level, through the task agent."""
    app = build_app(settings)
    app.finalize()
    app.conf.store = "memory://"
    app.flow_control.resume()
    app.worker.checkpoint.start_empty(settings.topics.partitions)
    sent.messages.clear()
    async with AsyncExitStack() as stack:
        agents = {s: await stack.enter_async_context(app.agents[s].test_context()) for s in SOURCES}
        for e in events:
            await agents[e.source].put(json.dumps(e.event).encode(), key=e.key.encode())
    await put_rekeyed(app, [(k, v) for t, k, v in sent.messages if t == "riskloop.rekeyed"])
    commands = [c["alert"] for c in sent.on("riskloop.task-commands")]
    opened = frozenset(ids.task_id(c["alert_id"]) for c in commands if not c["case_task_id"])
    links = frozenset(
        (a["alert_id"], a["case_task_id"]) for a in sent.on("alerts") if a["case_task_id"]
    )
    assert {task for _, task in links} <= opened, "a warning joined a case that has no task"
    # the task agent opens and raises them, in the order the commands were sent
    raw = [(k, v) for t, k, v in sent.messages if t == "riskloop.task-commands"]
    async with app.agents["tasks"].test_context() as agent:
        on_topic(agent, app.worker.topics.task_commands.get_topic_name())
        for key, value in raw:
            await agent.put(value, key=key)
    tasks = {
        t: TaskCase.model_validate(c) if isinstance(c, dict) else c
        for t, c in app.worker.tables.tasks.items()
    }
    assert set(tasks) == opened
    levels = frozenset((t, f"{c.task.level.value} {c.task.alert_id}") for t, c in tasks.items())
    return opened, links, levels


async def test_every_reading_order_opens_the_same_tasks_and_cases(
    settings: Settings, sent: Sent, tmp_path: Path
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)  # the worker's clock
    events = generate(160, seed=21, start=start, step_seconds=20)
    base = settings.with_overrides(task_min_level="blue", models_enabled=False)
    outcomes = []
    for i, order in enumerate(
        [events, _later(events, "complaints"), _later(events, "inspections")]
    ):
        run = base.with_overrides(data_dir=tmp_path / f"run{i}")
        outcomes.append(await _tasks(run, sent, order))
    opened, links, levels = outcomes[0]
    raised = [c for c in sent.on("riskloop.task-commands") if c["alert"]["case_task_id"]]
    print(f"\n{len(opened)} tasks, {len(links)} warnings joined a case, {len(raised)} raised")
    assert links, "no warning joined a case: the case rule was never exercised"
    assert raised, "no case was raised: the raise was never exercised"
    red = {task for task, level in levels if level.startswith("red")}
    assert {c["alert"]["case_task_id"] for c in raised} <= red
    assert outcomes[1] == outcomes[0]
    assert outcomes[2] == outcomes[0]
