"""A task: commands, dispositions and time in; the task, its audit events and 催办/督办/通报 out.

The state machine (``loop/state_machine.py``), cases (``loop/cases.py``), verdicts
(``loop/verdicts.py``) and the overdue ladder (``loop/supervision.py``) decide what happens to
a :class:`~loop.task_opening.TaskCase`; this decides what one message does to one task as a whole and
what to send: the task on ``tasks.<department>`` when it (re)enters a department, else to the
SQL sink only; every transition on ``tasks.events``; a disposal back to the warning's entity on
``riskloop.feedback``; a verdict on every disposition; each ladder step on ``supervision`` and
the department's own topic, with its notifications.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loop import ids
from loop.cases import raise_level
from loop.closed_loop import feedback_record
from loop.decide import Context, Decision
from loop.decide.notices import supervision_notices
from loop.messages import Message, output, to_department
from loop.state_machine import open_task, recompute_deadlines
from loop.supervision import due
from loop.task_opening import TaskCase, TaskCommand
from loop.verdicts import judge
from schemas.records import (
    Disposition,
    DispositionVerdict,
    SupervisionEvent,
    TaskEvent,
    TaskState,
    VerdictOutcome,
)


@dataclass(frozen=True)
class TaskDecision(Decision[TaskCase]):
    """A :class:`Decision` on one task, with what the worker counts and logs: the task's audit
    events, the ladder steps raised, the verdict on a disposition, and ``note`` — what
    happened in a word (``opened``, ``exists``, ``raised``, ``no_case``, ``recounted`` …)."""

    events: list[TaskEvent] = field(default_factory=list)
    steps: list[SupervisionEvent] = field(default_factory=list)
    verdict: DispositionVerdict | None = None
    note: str = ""


def command_key(command: TaskCommand) -> str:
    """The task a command is for: the case's task for a warning that joined a case, else the
    warning's own (``loop.ids.task_id``)."""
    return command.alert.case_task_id or ids.task_id(command.alert.alert_id)


def on_command(case: TaskCase | None, command: TaskCommand, ctx: Context) -> TaskDecision:
    """Open the task of a new warning, unless it exists (replays, redeliveries, restarts);
    a warning that joined a case raises the case's task to its level (``loop.cases``)."""
    alert = command.alert
    if alert.case_task_id:
        if case is None:  # its opening went to the dead-letter topic
            return TaskDecision(None, note="no_case")
        raised, events = raise_level(case, alert, command.template, ctx.config, ctx.now)
        if not events:
            return TaskDecision(case, note="unchanged")
        messages = task_messages(case, raised, events, republish=True)
        return TaskDecision(raised, messages, events, note="raised")
    if case is not None:
        return TaskDecision(case, note="exists")
    if ctx.routing is None:
        raise ValueError("opening a task needs the routing table")
    opened, events = open_task(
        alert, command.template, ctx.routing, ctx.config, ctx.now, recurrence=command.recurrence
    )
    return TaskDecision(opened, task_messages(None, opened, events), events, note="opened")


def on_disposition(case: TaskCase | None, record: Disposition, ctx: Context) -> TaskDecision:
    """Apply one disposition; its verdict (applied, duplicate or refused with its reason) is
    sent on ``tasks.verdicts`` whatever it is. A refusal changes nothing."""
    after, events, verdict = judge(case, record, ctx.config, ctx.now)
    answer = output("verdicts", record.task_id, verdict)
    if after is None or verdict.outcome is VerdictOutcome.refused:
        return TaskDecision(case, [answer], verdict=verdict, note="refused")
    extra = [answer]
    if any(e.to_state is TaskState.disposed for e in events):
        extra.append(output("feedback", after.task.entity, feedback_record(after)))
    messages = task_messages(case, after, events, extra)
    return TaskDecision(after, messages, events, verdict=verdict, note=verdict.outcome.value)


def supervise(case: TaskCase, ctx: Context) -> TaskDecision:
    """One open task at a tick: recount provisional deadlines, raise due ladder steps."""
    messages: list[Message] = []
    recounted, notes = recompute_deadlines(case, ctx.config, ctx.now)
    if notes:
        messages += task_messages(case, recounted, notes, republish=True)
        case = recounted
    new, steps = due(case, ctx.now, ctx.config)
    if steps:
        messages += [output("supervision", ev.task_id, ev, sink="supervision") for ev in steps]
        # 催办/督办/通报 also reach the department that must act, on its own task topic
        messages += [to_department(ev.department, ev.task_id, ev) for ev in steps]
        messages += supervision_notices(ctx, case, steps)  # the department, lead, supervisor
    return TaskDecision(new, messages, notes, steps, note="recounted" if notes else "")


def task_messages(
    before: TaskCase | None,
    case: TaskCase,
    events: list[TaskEvent],
    extra: list[Message] | None = None,
    *,
    republish: bool = False,
) -> list[Message]:
    """The task when it (re)enters a department (else to the SQL sink only), every event on
    ``tasks.events``, the task and its events to the sinks."""
    task = case.task
    entered = (
        before is None
        or before.task.department != task.department
        or task.state is TaskState.dispatched
        or republish
    )
    messages = [
        to_department(task.department, task.task_id, task, sink="task")
        if entered
        else output("", task.task_id, task, sink="task")
    ]
    messages += [output("task_events", ev.task_id, ev, sink="task_event") for ev in events]
    return messages + (extra or [])
