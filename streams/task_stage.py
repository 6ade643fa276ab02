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

from functools import partial
from typing import TYPE_CHECKING

from loop.decide.tasks import TaskDecision, command_key, on_command, on_disposition
from loop.decide.tasks import supervise as supervise_one
from loop.supervision import TaskBrief, tally
from loop.task_opening import TaskCase, TaskCommand
from loop.verdicts import repeated
from schemas.errors import ValidationFailed
from schemas.ingest import decode_source
from schemas.records import Disposition, TaskEvent, TaskState, VerdictOutcome
from sinks.errors import storage_full
from streams.due import summaries, task_brief
from streams.effects import Message, output
from streams.handle import TASKS, context, decide, load, peek
from streams.ingest import ingest, send_dead_letter
from streams.logs import correlation, get_logger

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    import faust

    from loop.decide import Context
    from streams.worker_context import WorkerContext

log = get_logger(__name__)


def load_case(worker: WorkerContext, task_id: str) -> TaskCase | None:
    """The task's case, read without deciding (a verdict on a repeat)."""
    return load(worker, TASKS, task_id)


def peek_case(worker: WorkerContext, task_id: str) -> TaskCase | None:
    """The task's case, read once for its brief: a cold case stays cold (streams/handle.py
    ``peek``)."""
    return peek(worker, TASKS, task_id)


async def handle_command(worker: WorkerContext, event: faust.EventT) -> list[Message]:
    """Open the task of a new warning; a command that fails goes to the dead-letter topic
    with the exception's class and message, and the partition goes on."""
    try:
        return open_from_command(worker, bytes(event.value or b""))
    except Exception as exc:  # one command must never stop the partition
        if storage_full(exc):
            raise  # not the command's fault: the boundary pauses and retries it (pipeline.py)
        worker.runtime.metrics.task_errors.labels("open", type(exc).__name__).inc()
        log.exception("task command failed", error=type(exc).__name__, offset=event.message.offset)
        reason = getattr(exc, "reason", "internal_error")
        await send_dead_letter(
            worker,
            "task_commands",
            event,
            ValidationFailed(reason, f"{type(exc).__name__}: {exc}".splitlines()[0][:500]),
        )
        return []


def open_from_command(worker: WorkerContext, raw: bytes) -> list[Message]:
    """Open the task of a new warning, unless it exists (replays, redeliveries, restarts);
    a warning that joined a case raises the case's task to its level (``loop.cases``)."""
    rt = worker.runtime
    command = TaskCommand.model_validate_json(raw)
    alert, ctx = command.alert, context(worker)
    task_id = command_key(command)
    with correlation(alert.correlation_id, alert_id=alert.alert_id, task_id=task_id):
        decision = decide(worker, TASKS, task_id, lambda case: on_command(case, command, ctx))
        case = decision.state
        if decision.note == "no_case":
            log.warning("case task missing", task_id=task_id, alert_id=alert.alert_id)
        elif decision.note == "raised" and case is not None:
            log.info("case task raised", task_id=task_id, level=case.task.level.value)
        elif decision.note == "opened" and case is not None:
            rt.metrics.tasks_created.labels(case.task.department, case.task.level.value).inc()
            log.info(
                "task opened",
                task_id=case.task_id,
                department=case.task.department,
                deadline_basis=case.task.deadline_basis.value,
                no_route=case.routing_note,
            )
        _observe(worker, decision)
        return decision.messages


async def handle_disposition(worker: WorkerContext, event: faust.EventT) -> list[Message]:
    """Apply one disposition and answer it on ``tasks.verdicts`` (applied, duplicate or
    refused with its reason), which the API and CLI wait for; a refusal also goes to the
    dead-letter topic as before."""
    record = await ingest(worker, "dispositions", event)
    if record is None:
        return answer_repeat(worker, event)
    assert isinstance(record, Disposition)
    rt = worker.runtime
    ctx = context(worker)
    decision = decide(worker, TASKS, record.task_id, lambda case: on_disposition(case, record, ctx))
    verdict = decision.verdict
    assert verdict is not None
    if verdict.outcome is VerdictOutcome.refused:
        reason = verdict.reason or "loop_error"
        rt.metrics.dispositions_rejected.labels(reason).inc()
        await send_dead_letter(
            worker,
            "dispositions",
            event,
            ValidationFailed(reason, f"{reason}: {record.task_id}: {verdict.message}", "task_id"),
        )
        return decision.messages
    task = decision.state.task if decision.state is not None else None
    with correlation(task.correlation_id if task else "", task_id=record.task_id):
        _observe(worker, decision)
        return decision.messages


def answer_repeat(worker: WorkerContext, event: faust.EventT) -> list[Message]:
    """Answer a disposition the door dropped as a duplicate event id (a client's retry with the
    same idempotency key): its sender waits for a verdict too. One the door dead-lettered has
    no readable event id to answer to, and decodes with an error here: nothing is sent."""
    rt = worker.runtime
    raw = event.value if isinstance(event.value, bytes) else bytes(event.value or b"")
    try:
        record = decode_source(
            "dispositions", raw, limits=rt.limits, now=rt.clock.now(), catalogue=rt.catalogue
        )
    except ValidationFailed:
        return []
    assert isinstance(record, Disposition)
    verdict = repeated(load_case(worker, record.task_id), record, rt.loop, rt.clock.now())
    return [output("verdicts", record.task_id, verdict)]


def _observe(worker: WorkerContext, decision: TaskDecision) -> None:
    """Count a task decision's transitions and ladder steps."""
    m = worker.runtime.metrics
    case = decision.state
    for ev in decision.events:
        m.task_transitions.labels(ev.department, ev.to_state.value).inc()
        if case is not None:
            _observe_durations(worker, case, ev)
    for step in decision.steps:
        m.supervision.labels(step.kind.value, step.department).inc()


async def supervise(
    worker: WorkerContext, tasks: Iterable[str], partition: int = 0
) -> tuple[int, list[Message]]:
    """Tick body: raise due ladder steps for the open tasks ``tasks`` names; refresh the
    gauges. How many steps were raised, and what to send.

    Only a task whose next step is due (``streams/due.py``: its time is computed once per
    stored case) is judged (``loop.decide.tasks.supervise``), and a provisional one when the
    calendar may have changed; the others cost the tick a comparison. A task that fails here (a
    stored value that no longer reads, a bug in one decision) is logged, counted and skipped:
    the other tasks, and the rest of the tick, go on.
    """
    rt = worker.runtime
    ctx = context(worker)
    ts = ctx.now.timestamp()
    briefs = summaries(worker.due, worker.store, f"tasks:{partition}")
    recount = briefs.refresh((id(rt.loop), id(rt.loop.calendar)), task_brief(rt.loop))
    held: set[str] = set()
    raised = 0
    outputs: list[Message] = []
    counted: list[TaskBrief] = []
    for task_id in list(tasks):
        held.add(task_id)  # a closed task's brief is kept too: it says "closed" without a read
        try:
            brief = briefs.summary(task_id, partial(peek_case, worker, task_id))
            if brief is None or not brief.open:
                continue
            if (recount and brief.provisional) or brief.due <= ts:
                decision = decide(worker, TASKS, task_id, partial(_supervise, ctx=ctx))
                raised += len(decision.steps)
                outputs += decision.messages
                _observe(worker, decision)
                if decision.note == "recounted":
                    rt.metrics.deadlines_recounted.labels(brief.department).inc()
                    reason = decision.events[0].reason
                    log.info("deadlines recounted", task_id=task_id, reason=reason)
                # a stored change was told to the cache: this reads the new case, still hot
                brief = briefs.summary(task_id, partial(peek_case, worker, task_id)) or brief
            counted.append(brief)
        except Exception as exc:  # one task must never stop supervision of the others
            if storage_full(exc):
                raise  # the tick is retried whole when there is room (pipeline.py)
            rt.metrics.task_errors.labels("supervise", type(exc).__name__).inc()
            log.exception("task supervision failed", task_id=task_id, error=type(exc).__name__)
    briefs.keep_only(held)
    # gauges: this partition's counts, summed with the other partitions' last counts
    rt.task_counts[partition] = tally(counted, ctx.now)
    departments = {d for o, v in rt.task_counts.values() for d in (*o, *v)}
    for dept in departments:
        rt.metrics.tasks_open.labels(dept).set(
            sum(o.get(dept, 0) for o, _ in rt.task_counts.values())
        )
        rt.metrics.tasks_overdue.labels(dept).set(
            sum(v.get(dept, 0) for _, v in rt.task_counts.values())
        )
    return raised, outputs


def _supervise(case: TaskCase | None, ctx: Context) -> TaskDecision:
    return TaskDecision(None) if case is None else supervise_one(case, ctx)


def _observe_durations(worker: WorkerContext, case: TaskCase, ev: TaskEvent) -> None:
    m = worker.runtime.metrics
    start: datetime = case.task.created_at
    if ev.to_state is TaskState.signed:
        m.time_to_sign.labels(ev.department).observe(max(0.0, (ev.at - start).total_seconds()))
    elif ev.to_state is TaskState.disposed:
        m.time_to_dispose.labels(ev.department).observe(max(0.0, (ev.at - start).total_seconds()))
