"""Task stage: open tasks, apply dispositions, raise 催办/督办/通报 — keyed by task id.

The state machine is pure (loop/state_machine.py). This agent keeps each ``TaskCase`` in the
``tasks`` table, publishes the task on ``tasks.<department>``, every transition on
``tasks.events``, and hands a disposal back to the warning's entity on the feedback topic.
An invalid disposition (unknown task, wrong department, invalid transition, missing evidence)
goes to the dead-letter topic with its reason; the agent carries on. Whatever else goes wrong
with one task — a command that cannot be opened, one task's supervision — is logged, counted
(``riskloop_task_errors_total``) and skipped: it must never stop the partition's other tasks,
its ticks, or the absence rules that share them. Except a full local disk: the task's outputs
could not be stored, which is no fault of the task, so it goes up to the agents' boundary,
which pauses the partition and retries until there is room (skipping it would lose the task).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import faust

from loop.calendar import Basis
from loop.cases import raise_level
from loop.state_machine import open_task, recompute_deadlines
from loop.supervision import due
from loop.tasks import OPEN, TaskCase, TaskCommand
from loop.verdicts import judge, repeated
from schemas.errors import ValidationFailed
from schemas.ingest import decode_source
from schemas.records import Disposition, TaskEvent, TaskState, VerdictOutcome
from sinks.errors import storage_full
from streams.due import due_times, task_due
from streams.effects import Output, output, to_department
from streams.ingest import ingest, send_dead_letter
from streams.logs import correlation, get_logger
from streams.notify import supervision_notifications

if TYPE_CHECKING:
    from streams.app import RiskLoopApp

log = get_logger(__name__)


def load_case(app: RiskLoopApp, task_id: str) -> TaskCase | None:
    """The task's case (decoded once after a restore, then kept decoded)."""
    return app.riskloop_tables.tasks.decoded(task_id, TaskCase)


async def handle_command(app: RiskLoopApp, event: faust.EventT) -> list[Output]:
    """Open the task of a new warning; a command that fails goes to the dead-letter topic
    with the exception's class and message, and the partition goes on."""
    try:
        return open_from_command(app, bytes(event.value or b""))
    except Exception as exc:  # one command must never stop the partition
        if storage_full(exc):
            raise  # not the command's fault: the boundary pauses and retries it (pipeline.py)
        app.riskloop_runtime.metrics.task_errors.labels("open", type(exc).__name__).inc()
        log.exception("task command failed", error=type(exc).__name__, offset=event.message.offset)
        reason = getattr(exc, "reason", "internal_error")
        await send_dead_letter(
            app, "task_commands", event,
            ValidationFailed(reason, f"{type(exc).__name__}: {exc}".splitlines()[0][:500]),
        )  # fmt: skip
        return []


def open_from_command(app: RiskLoopApp, raw: bytes) -> list[Output]:
    """Open the task of a new warning, unless it exists (replays, redeliveries, restarts);
    a warning that joined a case raises the case's task to its level (``loop.cases``)."""
    rt = app.riskloop_runtime
    command = TaskCommand.model_validate_json(raw)
    alert, template, rec = command.alert, command.template, command.recurrence
    from loop import ids

    if alert.case_task_id:
        return raise_case(app, command)
    task_id = ids.task_id(alert.alert_id)
    if load_case(app, task_id) is not None:
        return []
    with correlation(alert.correlation_id, alert_id=alert.alert_id):
        case, events = open_task(
            alert, template, rt.routing, rt.loop, rt.clock.now(), recurrence=rec
        )
        outputs = store_and_publish(app, None, case, events)
        rt.metrics.tasks_created.labels(case.task.department, case.task.level.value).inc()
        log.info(
            "task opened", task_id=case.task_id, department=case.task.department,
            deadline_basis=case.task.deadline_basis.value, no_route=case.routing_note,
        )  # fmt: skip
        return outputs


def raise_case(app: RiskLoopApp, command: TaskCommand) -> list[Output]:
    """Raise a case's task to the level of a warning that joined it; a case whose task is
    missing (its opening went to the dead-letter topic) is logged and left."""
    rt = app.riskloop_runtime
    alert = command.alert
    task_id = str(alert.case_task_id)
    before = load_case(app, task_id)
    if before is None:
        log.warning("case task missing", task_id=task_id, alert_id=alert.alert_id)
        return []
    with correlation(alert.correlation_id, alert_id=alert.alert_id, task_id=task_id):
        case, events = raise_level(before, alert, command.template, rt.loop, rt.clock.now())
        if not events:
            return []
        log.info("case task raised", task_id=task_id, level=case.task.level.value)
        return store_and_publish(app, before, case, events, republish=True)


async def handle_disposition(app: RiskLoopApp, event: faust.EventT) -> list[Output]:
    """Apply one disposition and answer it on ``tasks.verdicts`` (applied, duplicate or
    refused with its reason), which the API and CLI wait for; a refusal also goes to the
    dead-letter topic as before."""
    record = await ingest(app, "dispositions", event)
    if record is None:
        return answer_repeat(app, event)
    assert isinstance(record, Disposition)
    rt = app.riskloop_runtime
    before = load_case(app, record.task_id)
    case, events, verdict = judge(before, record, rt.loop, rt.clock.now())
    answer = output("verdicts", record.task_id, verdict)
    if case is None or verdict.outcome is VerdictOutcome.refused:
        reason = verdict.reason or "loop_error"
        rt.metrics.dispositions_rejected.labels(reason).inc()
        await send_dead_letter(
            app, "dispositions", event,
            ValidationFailed(reason, f"{reason}: {record.task_id}: {verdict.message}", "task_id"),
        )  # fmt: skip
        return [answer]
    with correlation(case.task.correlation_id, task_id=case.task_id):
        extra = [answer]
        if any(e.to_state is TaskState.disposed for e in events):
            extra.append(output("feedback", case.task.entity, case))
        return store_and_publish(app, before, case, events, extra)


def answer_repeat(app: RiskLoopApp, event: faust.EventT) -> list[Output]:
    """Answer a disposition the door dropped as a duplicate event id (a client's retry with the
    same idempotency key): its sender waits for a verdict too. One the door dead-lettered has
    no readable event id to answer to, and decodes with an error here: nothing is sent."""
    rt = app.riskloop_runtime
    raw = event.value if isinstance(event.value, bytes) else bytes(event.value or b"")
    try:
        record = decode_source(
            "dispositions", raw, limits=rt.limits, now=rt.clock.now(), catalogue=rt.catalogue
        )
    except ValidationFailed:
        return []
    assert isinstance(record, Disposition)
    verdict = repeated(load_case(app, record.task_id), record, rt.loop, rt.clock.now())
    return [output("verdicts", record.task_id, verdict)]


def store_and_publish(
    app: RiskLoopApp,
    before: TaskCase | None,
    case: TaskCase,
    events: list[TaskEvent],
    extra: list[Output] | None = None,
    *,
    republish: bool = False,
) -> list[Output]:
    """Store the case; what to send: the task when it (re)enters a department, every event on
    ``tasks.events``, the task and its events to the sinks."""
    rt = app.riskloop_runtime
    task = case.task
    outputs: list[Output] = []
    if (
        before is None
        or before.task.department != task.department
        or task.state is TaskState.dispatched
        or republish
    ):
        outputs.append(to_department(task.department, task.task_id, task, sink="task"))
    else:
        outputs.append(output("", task.task_id, task, sink="task"))
    outputs += [output("task_events", ev.task_id, ev, sink="task_event") for ev in events]
    outputs += extra or []
    app.riskloop_tables.tasks[case.task_id] = case
    for ev in events:
        rt.metrics.task_transitions.labels(ev.department, ev.to_state.value).inc()
        _observe_durations(app, case, ev)
    return outputs


def _observe_durations(app: RiskLoopApp, case: TaskCase, ev: TaskEvent) -> None:
    m = app.riskloop_runtime.metrics
    start: datetime = case.task.created_at
    if ev.to_state is TaskState.signed:
        m.time_to_sign.labels(ev.department).observe(max(0.0, (ev.at - start).total_seconds()))
    elif ev.to_state is TaskState.disposed:
        m.time_to_dispose.labels(ev.department).observe(max(0.0, (ev.at - start).total_seconds()))


async def supervise(
    app: RiskLoopApp, tasks: MutableMapping[str, Any], partition: int = 0
) -> tuple[int, list[Output]]:
    """Tick body: raise due ladder steps for the open tasks in ``tasks``; refresh the gauges.
    How many steps were raised, and what to send.

    Only a task whose next step is due (``streams/due.py``: its time is computed once per
    stored case) is judged, and a provisional one when the calendar may have changed; the
    others cost the tick a comparison. A task that fails here (a stored value that no longer
    reads, a bug in one decision) is logged, counted and skipped: the other tasks, and the
    rest of the tick, go on.
    """
    rt = app.riskloop_runtime
    now = rt.clock.now()
    ts = now.timestamp()
    times = due_times(app, f"tasks:{partition}")
    recount = times.refresh((id(rt.loop), id(rt.loop.calendar)), task_due(rt.loop))
    held: set[str] = set()
    raised = 0
    outputs: list[Output] = []
    open_by_dept: dict[str, int] = {}
    overdue_by_dept: dict[str, int] = {}
    for task_id in list(tasks):
        try:
            case = load_case(app, task_id)
            if case is None or case.task.state not in OPEN:
                continue
            held.add(task_id)
            provisional = recount and case.task.deadline_basis is Basis.provisional
            if provisional or times.due(task_id, case) <= ts:
                case, n, out = _supervise_one(app, case, now)
                raised += n
                outputs += out
            _count(case, now, open_by_dept, overdue_by_dept)
        except Exception as exc:  # one task must never stop supervision of the others
            if storage_full(exc):
                raise  # the tick is retried whole when there is room (pipeline.py)
            rt.metrics.task_errors.labels("supervise", type(exc).__name__).inc()
            log.exception("task supervision failed", task_id=task_id, error=type(exc).__name__)
    times.keep_only(held)
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
    return raised, outputs


def _count(
    case: TaskCase, now: datetime, open_by_dept: dict[str, int], overdue_by_dept: dict[str, int]
) -> None:
    """One open task in the partition's gauges: open, and overdue if a deadline passed."""
    dept = case.task.department
    open_by_dept[dept] = open_by_dept.get(dept, 0) + 1
    if now > case.task.dispose_deadline or (
        case.signed_at is None and now > case.task.sign_deadline
    ):
        overdue_by_dept[dept] = overdue_by_dept.get(dept, 0) + 1


def _supervise_one(
    app: RiskLoopApp, case: TaskCase, now: datetime
) -> tuple[TaskCase, int, list[Output]]:
    """One open task: recount provisional deadlines, raise due ladder steps; the case after,
    how many steps were raised and what to send."""
    rt = app.riskloop_runtime
    task_id = case.task_id
    recounted, notes = recompute_deadlines(case, rt.loop, now)
    outputs: list[Output] = []
    if notes:
        outputs += store_and_publish(app, case, recounted, notes, republish=True)
        rt.metrics.deadlines_recounted.labels(recounted.task.department).inc()
        log.info("deadlines recounted", task_id=task_id, reason=notes[0].reason)
        case = recounted
    new, events = due(case, now, rt.loop)
    if not events:
        return case, 0, outputs
    outputs += [output("supervision", ev.task_id, ev, sink="supervision") for ev in events]
    # 催办/督办/通报 also reach the department that must act, on its own task topic
    outputs += [to_department(ev.department, ev.task_id, ev) for ev in events]
    outputs += supervision_notifications(rt, case, events)  # the department, lead, supervisor
    app.riskloop_tables.tasks[task_id] = new
    for ev in events:
        rt.metrics.supervision.labels(ev.kind.value, ev.department).inc()
    return new, len(events), outputs
