"""Task stage: open tasks, apply dispositions, raise 催办/督办/通报 — keyed by task id.

The state machine is pure (loop/state_machine.py). This agent keeps each ``TaskCase`` in the
``tasks`` table, publishes the task on ``tasks.<department>``, every transition on
``tasks.events``, and hands a disposal back to the warning's entity on the feedback topic.
An invalid disposition (unknown task, wrong department, invalid transition, missing evidence)
goes to the dead-letter topic with its reason; the agent carries on.
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import faust

from loop.errors import LoopError
from loop.state_machine import apply, open_task
from loop.supervision import due
from loop.tasks import Recurrence, TaskCase
from rules.hit import TaskTemplate
from schemas.errors import ValidationFailed
from schemas.records import Alert, Disposition, TaskEvent, TaskState
from streams.ingest import ingest, send_dead_letter
from streams.logs import correlation, get_logger
from streams.topics import task_topic

if TYPE_CHECKING:
    from streams.app import RiskLoopApp

log = get_logger(__name__)


def load_case(app: RiskLoopApp, task_id: str) -> TaskCase | None:
    raw = app.riskloop_tables.tasks.get(task_id)
    return TaskCase.model_validate(raw) if raw else None


async def handle_command(app: RiskLoopApp, raw: bytes) -> None:
    """Open the task of a new warning, unless it exists (replays, redeliveries, restarts)."""
    rt = app.riskloop_runtime
    body: dict[str, Any] = json.loads(raw)
    alert = Alert.model_validate(body["alert"])
    template = TaskTemplate.model_validate(body["template"]) if body.get("template") else None
    rec = Recurrence.model_validate(body["recurrence"]) if body.get("recurrence") else None
    from loop import ids

    if load_case(app, ids.task_id(alert.alert_id)) is not None:
        return
    with correlation(alert.correlation_id, alert_id=alert.alert_id):
        case, events = open_task(
            alert, template, rt.routing, rt.loop, rt.clock.now(), recurrence=rec
        )
        await store_and_publish(app, None, case, events)
        rt.metrics.tasks_created.labels(case.task.department, case.task.level.value).inc()
        log.info("task opened", task_id=case.task_id, department=case.task.department)


async def handle_disposition(app: RiskLoopApp, event: faust.EventT) -> None:
    record = await ingest(app, "dispositions", event)
    if record is None:
        return
    assert isinstance(record, Disposition)
    rt = app.riskloop_runtime
    before = load_case(app, record.task_id)
    try:
        case, events = apply(before, record, rt.loop)
    except LoopError as exc:
        rt.metrics.dispositions_rejected.labels(exc.reason).inc()
        await send_dead_letter(
            app, "dispositions", event, ValidationFailed(exc.reason, str(exc), "task_id")
        )
        return
    with correlation(case.task.correlation_id, task_id=case.task_id):
        await store_and_publish(app, before, case, events)
        if any(e.to_state is TaskState.disposed for e in events):
            await app.riskloop_topics.feedback.send(
                key=case.task.entity.encode(), value=case.model_dump_json().encode()
            )


async def store_and_publish(
    app: RiskLoopApp, before: TaskCase | None, case: TaskCase, events: list[TaskEvent]
) -> None:
    """Store the case, then publish: the task when it (re)enters a department, every event."""
    rt = app.riskloop_runtime
    app.riskloop_tables.tasks[case.task_id] = case.model_dump(mode="json")
    task = case.task
    if (
        before is None
        or before.task.department != task.department
        or task.state is TaskState.dispatched
    ):
        topic = task_topic(app, rt.settings, task.department)
        await topic.send(key=task.task_id.encode(), value=task.model_dump_json().encode())
    for ev in events:
        await app.riskloop_topics.task_events.send(
            key=ev.task_id.encode(), value=ev.model_dump_json().encode()
        )
        rt.metrics.task_transitions.labels(ev.department, ev.to_state.value).inc()
        _observe_durations(app, case, ev)
    if app.riskloop_sinks is not None:
        await app.riskloop_sinks.task(case, events)


def _observe_durations(app: RiskLoopApp, case: TaskCase, ev: TaskEvent) -> None:
    m = app.riskloop_runtime.metrics
    start: datetime = case.task.created_at
    if ev.to_state is TaskState.signed:
        m.time_to_sign.labels(ev.department).observe(max(0.0, (ev.at - start).total_seconds()))
    elif ev.to_state is TaskState.disposed:
        m.time_to_dispose.labels(ev.department).observe(max(0.0, (ev.at - start).total_seconds()))


_OPEN = {TaskState.created, TaskState.dispatched, TaskState.signed, TaskState.returned,
         TaskState.arbitration, TaskState.in_progress, TaskState.reopened}  # fmt: skip


async def supervise(app: RiskLoopApp, tasks: MutableMapping[str, Any], partition: int = 0) -> int:
    """Tick body: raise due ladder steps for the open tasks in ``tasks``; refresh the gauges."""
    rt = app.riskloop_runtime
    now = rt.clock.now()
    raised = 0
    open_by_dept: dict[str, int] = {}
    overdue_by_dept: dict[str, int] = {}
    for task_id in list(tasks):
        raw = app.riskloop_tables.tasks.get(task_id)
        if not raw:
            continue
        case = TaskCase.model_validate(raw)
        if case.task.state not in _OPEN:
            continue
        dept = case.task.department
        open_by_dept[dept] = open_by_dept.get(dept, 0) + 1
        if now > case.task.dispose_deadline or (
            case.signed_at is None and now > case.task.sign_deadline
        ):
            overdue_by_dept[dept] = overdue_by_dept.get(dept, 0) + 1
        new, events = due(case, now, rt.loop)
        if not events:
            continue
        app.riskloop_tables.tasks[task_id] = new.model_dump(mode="json")
        for ev in events:
            await app.riskloop_topics.supervision.send(
                key=ev.task_id.encode(), value=ev.model_dump_json().encode()
            )
            rt.metrics.supervision.labels(ev.kind.value, ev.department).inc()
            raised += 1
        if app.riskloop_sinks is not None:
            await app.riskloop_sinks.supervision(events)
    # gauges: this partition's counts, summed with the other partitions' last counts
    rt.task_counts[partition] = (open_by_dept, overdue_by_dept)
    departments = {d for o, v in rt.task_counts.values() for d in (*o, *v)}
    for dept in departments:
        rt.metrics.tasks_open.labels(dept).set(
            sum(o.get(dept, 0) for o, _ in rt.task_counts.values())
        )
        rt.metrics.tasks_overdue.labels(dept).set(
            sum(v.get(dept, 0) for _, v in rt.task_counts.values())
        )
    return raised
