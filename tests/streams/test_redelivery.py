"""A worker killed after its tables were written but before its outputs went out gets the
same messages again (same partition and offset). Driven through the real agents: the second
delivery must send the same alerts and task commands and count nothing twice."""

from __future__ import annotations

from typing import Any

from faust.types import TP

from streams.app import RiskLoopApp
from tests.streams.conftest import Sent
from tests.streams.test_skeleton import encode, inspection, metric


def _warnings_of(app: RiskLoopApp, entity: str) -> dict[str, Any]:
    state = app.riskloop_tables.warnings.current(entity)
    assert state is not None
    return {fp: w["occurrences"] for fp, w in state["warnings"].items()}


def _crash(app: RiskLoopApp, sent: Sent) -> None:
    """The outputs never left; the next deliveries are redeliveries."""
    sent.messages.clear()
    for journal in app.riskloop_tables.journals():
        journal.forget()


async def _inspect(
    app: RiskLoopApp,
    ev: dict[str, Any],
    *,
    inspection_again: bool = False,
    sent: Sent | None = None,
) -> None:
    """Send ``ev`` through the inspections agent (twice, as a new message, if asked)."""
    async with app.agents["inspections"].test_context() as agent:
        await agent.put(encode(ev), key=ev["uscc"].encode())
        if inspection_again and sent is not None:
            sent.messages.clear()
            await agent.put(encode(ev), key=ev["uscc"].encode())  # offset 1: a producer retry


def _on_topic(agent: Any, topic: str) -> None:
    """The test context's messages come from ``topic`` (the tasks agent reads two)."""
    make = agent.to_message

    def to_message(*args: Any, **kwargs: Any) -> Any:
        message = make(*args, **kwargs)
        message.topic, message.tp = topic, TP(topic, message.partition)
        return message

    agent.to_message = to_message


async def test_a_redelivered_event_sends_its_outputs_again_and_counts_once(
    app: RiskLoopApp, sent: Sent
) -> None:
    first, second = inspection(), inspection()
    second["event_id"] = first["event_id"] + "-2"
    async with app.agents["inspections"].test_context() as agent:
        await agent.put(encode(first), key=first["uscc"].encode())
        await agent.put(encode(second), key=second["uscc"].encode())
        before = list(sent.messages)
        occurrences = _warnings_of(app, first["uscc"])
        _crash(app, sent)
        agent.sent_offset = 0  # Kafka starts again at the committed offset
        await agent.put(encode(first), key=first["uscc"].encode())
        await agent.put(encode(second), key=second["uscc"].encode())
    assert sent.messages == before
    assert _warnings_of(app, first["uscc"]) == occurrences
    assert metric(app, "riskloop_redelivered_total", table="warnings", how="replay") == 2
    assert metric(app, "riskloop_events_duplicate_total", source="inspections") == 0


async def test_a_resent_record_at_a_new_offset_is_still_a_duplicate(
    app: RiskLoopApp, sent: Sent
) -> None:
    await _inspect(app, inspection(), inspection_again=True, sent=sent)
    assert sent.messages == []
    assert metric(app, "riskloop_events_duplicate_total", source="inspections") == 1


async def test_a_redelivered_task_command_dispatches_the_task_again(
    app: RiskLoopApp, sent: Sent
) -> None:
    await _inspect(app, inspection())
    commands = [(k, v) for t, k, v in sent.messages if t == "riskloop.task-commands"]
    assert commands
    sent.messages.clear()
    async with app.agents["tasks"].test_context() as tasks:
        _on_topic(tasks, app.riskloop_topics.task_commands.get_topic_name())
        for key, value in commands:
            await tasks.put(value, key=key)
        dispatched = list(sent.messages)
        _crash(app, sent)
        tasks.sent_offset = 0
        for key, value in commands:
            await tasks.put(value, key=key)
        assert sent.messages == dispatched
        sent.messages.clear()
        for key, value in commands:  # the same commands again, as new messages: no new task
            await tasks.put(value, key=key)
    assert sent.messages == []
    assert any(t == "tasks.hz_market_food" for t, _, _ in dispatched), dispatched
    assert any(t == "tasks.events" for t, _, _ in dispatched)


async def test_a_feedback_record_sent_again_counts_once(app: RiskLoopApp, sent: Sent) -> None:
    """A disposal's feedback record that reaches the entity twice (a resend at a new offset,
    or a reopened task disposed again) counts once in rule precision (loop/feedback.py)."""
    from datetime import timedelta

    from loop.state_machine import apply
    from schemas.records import Disposition, DispositionAction, DispositionResult
    from streams.tasks import load_case

    await _inspect(app, inspection())
    commands = [(k, v) for t, k, v in sent.messages if t == "riskloop.task-commands"]
    async with app.agents["tasks"].test_context() as tasks:
        _on_topic(tasks, app.riskloop_topics.task_commands.get_topic_name())
        for key, value in commands:
            await tasks.put(value, key=key)
    (task_id,) = [k.decode() for k, _ in commands if k is not None]
    case = load_case(app, task_id)
    assert case is not None
    dept, at = case.task.department, case.task.created_at
    for n, action in enumerate([DispositionAction.sign, DispositionAction.start,
                                DispositionAction.dispose], start=1):  # fmt: skip
        extra = {"result": DispositionResult.confirmed, "evidence": ["photo:1"]}
        d = Disposition(
            event_id=f"d-{n}", event_time=at + timedelta(minutes=n), task_id=task_id,
            department=dept, action=action, actor="officer",
            **(extra if action is DispositionAction.dispose else {}),
        )  # fmt: skip
        case, _ = apply(case, d, app.riskloop_runtime.loop)
    async with app.agents["feedback"].test_context() as feedback:
        _on_topic(feedback, app.riskloop_topics.feedback.get_topic_name())
        for _ in range(2):
            await feedback.put(case.model_dump_json().encode(), key=case.task.entity.encode())
    counters = {k: app.riskloop_tables.precision.current(k) for k in app.riskloop_tables.precision}
    assert counters and all(c == {"confirmed": 1, "false_alarm": 0} for c in counters.values())
    assert sum(
        metric(app, "riskloop_rule_dispositions_total", rule=rule, result="confirmed")
        for rule in counters
    ) == len(counters)
