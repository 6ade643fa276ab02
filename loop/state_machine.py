"""The task state machine, driven by departments' dispositions (tasks.dispositions).

::

    created ─► dispatched ─sign─► signed ─start─► in_progress ─dispose─► disposed ─close─► closed
                  │  ▲                                                      │  ▲            │
           return │  │ next candidate                              reopen   ▼  │ sign       │
                  ▼  │                                                   reopened ◄──reopen─┘
               returned ──(max_returns, or nobody left)──► arbitration ─assign─► dispatched

* ``sign``, ``return``, ``start`` and ``dispose`` come from the department holding the task;
  ``close``, ``reopen`` and ``assign`` from the risk centre (``config.centre``). ``assign``
  resolves an arbitration (仲裁): the task goes to ``assign_to`` with a fresh sign-for deadline;
  it needs a reason, which the audit trail keeps. It travels on tasks.dispositions like any
  other disposition, so it is applied on the task's partition, exactly once.
* A return needs a reason; the task moves to the next candidate department (fresh sign-for
  deadline; the dispose deadline stays — it belongs to the warning), and after
  ``max_returns`` returns, or when no candidate is left, to arbitration by the risk centre.
* A disposal needs a result and at least one piece of evidence.
* A reopened task is back with the same department, which signs for it again; both its
  deadlines restart from the reopening.
* ``extend`` (延期申请) comes from the department holding a signed task, with a reason and the
  new dispose deadline it asks for; ``grant_extension`` and ``refuse_extension`` from the risk
  centre (``loop.extensions``). None of them changes the state: each is an audit row whose
  state stays, and a grant moves the dispose deadline.

Every transition yields a :class:`~schemas.records.TaskEvent` whose id derives from the task
and the disposition's event id, so a replay produces the same ids; applying a disposition
whose event id was already applied changes nothing and yields no event. Events are stamped
with the disposition's own ``event_time`` (when the department acted), so a replay is exact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from loop import deadlines, extensions, ids
from loop.calendar import Basis, weakest
from loop.errors import (
    BadCategory,
    InvalidTransition,
    MissingEvidence,
    MissingReason,
    UnknownTask,
    WrongDepartment,
)
from loop.loop_config import LoopConfig
from loop.task_opening import OPEN, Recurrence, TaskCase, case_for, provisional_years
from schemas.categories import UnknownCategory, check_category
from schemas.records import Alert, Disposition, DispositionAction, TaskEvent, TaskState

if TYPE_CHECKING:
    from datetime import datetime

    from loop.routing import RoutingTable
    from schemas.hits import TaskTemplate

SYSTEM = "riskloop"
"""Actor of the transitions the loop makes itself (creation, dispatch, re-routing)."""

_FROM: dict[DispositionAction, set[TaskState]] = {
    DispositionAction.sign: {TaskState.dispatched, TaskState.reopened},
    DispositionAction.return_: {TaskState.dispatched, TaskState.reopened},
    DispositionAction.start: {TaskState.signed},
    DispositionAction.dispose: {TaskState.in_progress},
    DispositionAction.close: {TaskState.disposed},
    DispositionAction.reopen: {TaskState.disposed, TaskState.closed},
    DispositionAction.assign: {TaskState.arbitration},
    DispositionAction.extend: {TaskState.signed, TaskState.in_progress},
    DispositionAction.grant_extension: {TaskState.signed, TaskState.in_progress},
    DispositionAction.refuse_extension: {TaskState.signed, TaskState.in_progress},
}
_CENTRE_ACTIONS = {
    DispositionAction.close,
    DispositionAction.reopen,
    DispositionAction.assign,
    DispositionAction.grant_extension,
    DispositionAction.refuse_extension,
}


class _Recorder:
    """Collects the events of one cause, numbering them for deterministic ids."""

    def __init__(self, case: TaskCase, cause: str) -> None:
        self.case, self.cause = case, cause
        self.events: list[TaskEvent] = []

    def move(
        self, to: TaskState, at: datetime, actor: str, department: str, why: str | None
    ) -> None:
        task = self.case.task
        # built, not validated: every value is already of its field's type (the task's own,
        # the state machine's), and validating them again was a third of a transition's cost
        event = TaskEvent.model_construct(
            event_id=ids.event_id(task.task_id, self.cause, str(len(self.events))),
            task_id=task.task_id,
            at=at,
            actor=actor,
            from_state=None if self.cause == "open" and not self.events else task.state,
            to_state=to,
            reason=why,
            department=department,
            correlation_id=task.correlation_id,
        )
        # every event is a new revision of the task, an audit note included (sinks/sql.py)
        self.case.task = task.model_copy(update={"state": to, "revision": task.revision + 1})
        self.case.event_count += 1
        self.events.append(event)


def open_task(
    alert: Alert,
    template: TaskTemplate | None,
    routing: RoutingTable,
    config: LoopConfig,
    now: datetime,
    *,
    recurrence: Recurrence | None = None,
) -> tuple[TaskCase, list[TaskEvent]]:
    """Create and dispatch the task of a new warning: publish ``case.task`` on its topic."""
    case = case_for(
        alert,
        template,
        routing,
        config.deadlines,
        now,
        recurrence=recurrence,
        calendar=config.calendar,
        centre=config.centre,
    )
    department = case.task.department
    rec = _Recorder(case, "open")
    why = (
        f"recurrence of {recurrence.previous_task_id}"
        if recurrence
        else f"warning {alert.alert_id}"
    )
    rec.move(TaskState.created, now, SYSTEM, department, why)
    routed = (
        f"no route, to the risk centre's intake: {case.routing_note}"
        if case.routing_note
        else f"routed to {department}"
    )
    rec.move(TaskState.dispatched, now, SYSTEM, department, routed)
    return case, rec.events


def recompute_deadlines(
    case: TaskCase, config: LoopConfig, now: datetime
) -> tuple[TaskCase, list[TaskEvent]]:
    """Count an open task's provisional deadlines again once its years have real data.

    Deadlines counted on a provisional calendar (a year without a notice yet) are replaced
    by the ones the notice gives, from the same phase starts and specs, with one audit event
    (state unchanged) saying what moved; ladder steps already raised stay raised. Nothing
    changes while any year the task spans is still provisional, or when the task is done.
    """
    task = case.task
    if task.deadline_basis is not Basis.provisional or task.state not in OPEN:
        return case, []
    if provisional_years(case, config.calendar):
        return case, []
    default_sign, default_dispose = deadlines.level_specs(task.level, config.deadlines)
    sign = deadlines.deadline_of(case.sign_started, case.sign_spec or default_sign, config.calendar)
    dispose = deadlines.deadline_of(
        case.dispose_started, case.dispose_spec or default_dispose, config.calendar
    )
    dispose_at = max(sign.at, dispose.at)
    basis = weakest([sign.basis, dispose.basis])
    new = case.model_copy(deep=True)
    new.task = task.model_copy(
        update={"sign_deadline": sign.at, "dispose_deadline": dispose_at, "deadline_basis": basis}
    )
    why = (
        f"deadlines recounted on the {basis.value} calendar: sign-for "
        f"{task.sign_deadline.isoformat()} → {sign.at.isoformat()}, dispose "
        f"{task.dispose_deadline.isoformat()} → {dispose_at.isoformat()}"
    )
    cause = f"recount:{task.sign_deadline.isoformat()}:{task.dispose_deadline.isoformat()}"
    rec = _Recorder(new, cause)
    rec.move(task.state, now, SYSTEM, task.department, why)
    new.event_count = case.event_count  # an audit note, not a transition
    return new, rec.events


def apply(
    case: TaskCase | None, disposition: Disposition, config: LoopConfig
) -> tuple[TaskCase, list[TaskEvent]]:
    """Apply one disposition; raises a ``LoopError`` (with ``reason``) if it is not allowed."""
    if case is None or case.task_id != disposition.task_id:
        raise UnknownTask("no such task; check the task id", task_id=disposition.task_id)
    if disposition.event_id in case.applied:
        return case, []
    action, task = disposition.action, case.task
    if disposition.category is not None and action is not DispositionAction.dispose:
        raise BadCategory(
            f"a category correction goes with dispose, not {action.value}", task_id=task.task_id
        )
    expected = config.centre if action in _CENTRE_ACTIONS else task.department
    if disposition.department != expected:
        raise WrongDepartment(
            f"{action.value} must come from {expected}, not {disposition.department}",
            task_id=task.task_id,
        )
    if task.state not in _FROM[action]:
        allowed = ", ".join(sorted(s.value for s in _FROM[action]))
        raise InvalidTransition(
            f"cannot {action.value} a task that is {task.state.value} (only from {allowed})",
            task_id=task.task_id,
        )
    new = case.model_copy(deep=True)
    rec = _Recorder(new, disposition.event_id)
    _HANDLERS[action](new, disposition, config, rec)
    new.applied.append(disposition.event_id)
    return new, rec.events


def _assign(case: TaskCase, d: Disposition, config: LoopConfig, rec: _Recorder) -> None:
    """The risk centre's arbitration as a disposition (``riskloop tasks assign``, the API)."""
    target = (d.assign_to or "").strip()
    if not target:
        raise MissingReason("an assignment needs assign_to: the department", task_id=case.task_id)
    if not (d.reason or "").strip():
        raise MissingReason("an arbitration decision needs a reason", task_id=case.task_id)
    _redispatch(case, target, d.event_time, config)
    rec.move(TaskState.dispatched, d.event_time, d.actor, target, d.reason)


# ---------------------------------------------------------------- handlers


def _sign(case: TaskCase, d: Disposition, _: LoopConfig, rec: _Recorder) -> None:
    case.signed_at = d.event_time
    rec.move(TaskState.signed, d.event_time, d.actor, d.department, d.reason)


def _start(case: TaskCase, d: Disposition, _: LoopConfig, rec: _Recorder) -> None:
    rec.move(TaskState.in_progress, d.event_time, d.actor, d.department, d.reason)


def _return(case: TaskCase, d: Disposition, config: LoopConfig, rec: _Recorder) -> None:
    if not (d.reason or "").strip():
        raise MissingReason("a return (退单) needs a reason", task_id=case.task_id)
    reason = d.reason or ""
    case.returned_by.append(d.department)
    case.return_reasons.append(reason)
    case.task = case.task.model_copy(update={"returns": case.task.returns + 1})
    rec.move(TaskState.returned, d.event_time, d.actor, d.department, reason)
    target = case.next_department()
    if case.task.returns >= config.max_returns or target is None:
        why = f"returned {case.task.returns} times" if target else "no candidate department left"
        case.task = case.task.model_copy(update={"department": config.centre})
        rec.move(TaskState.arbitration, d.event_time, SYSTEM, config.centre, why)
        return
    _redispatch(case, target, d.event_time, config)
    rec.move(
        TaskState.dispatched, d.event_time, SYSTEM, target, f"re-routed after return: {reason}"
    )


def _dispose(case: TaskCase, d: Disposition, _: LoopConfig, rec: _Recorder) -> None:
    if d.result is None:
        raise MissingEvidence("a disposal needs a result", task_id=case.task_id)
    if not [e for e in d.evidence if e.strip()]:
        needed = ", ".join(case.task.required_evidence) or "at least one item"
        raise MissingEvidence(f"a disposal needs evidence ({needed})", task_id=case.task_id)
    category = _category(case, d)
    case.result, case.evidence = d.result, list(d.evidence)
    case.disposed_at, case.disposed_by = d.event_time, d.department
    case.category = category
    case.category_by = d.event_id if category is not None else None
    extensions.withdraw(case)
    case.task = case.task.model_copy(update={"evidence": list(d.evidence)})
    why = d.reason or d.result.value
    if category is not None:
        why = f"{why}; complaint category corrected to {category}"
    rec.move(TaskState.disposed, d.event_time, d.actor, d.department, why)


def _category(case: TaskCase, d: Disposition) -> str | None:
    """The disposal's category correction, checked against the taxonomy (BadCategory names
    the categories there are); only a task raised from complaints has a category to correct."""
    if d.category is None:
        return None
    if case.task.complaint_text is None:
        raise BadCategory(
            "this task is not about a complaint: there is no category to correct",
            task_id=case.task_id,
        )
    try:
        return check_category(d.category)
    except UnknownCategory as exc:
        raise BadCategory(str(exc), task_id=case.task_id) from None


def _close(case: TaskCase, d: Disposition, _: LoopConfig, rec: _Recorder) -> None:
    case.closed_at = d.event_time
    rec.move(TaskState.closed, d.event_time, d.actor, d.department, d.reason)


def _reopen(case: TaskCase, d: Disposition, config: LoopConfig, rec: _Recorder) -> None:
    if not (d.reason or "").strip():
        raise MissingReason("reopening a task needs a reason", task_id=case.task_id)
    sign_at, dispose_at, basis = deadlines.task_deadlines(
        case.task.level,
        config.deadlines,
        d.event_time,
        sign=case.sign_spec,
        dispose=case.dispose_spec,
        calendar=config.calendar,
    )
    case.task = case.task.model_copy(
        update={
            "sign_deadline": sign_at,
            "dispose_deadline": dispose_at,
            "deadline_basis": basis,
            "evidence": [],
        }
    )
    case.sign_started = case.dispose_started = d.event_time
    case.fired = []
    case.result, case.evidence, case.disposed_at, case.closed_at = None, [], None, None
    case.signed_at = case.category = case.category_by = None
    rec.move(TaskState.reopened, d.event_time, d.actor, d.department, d.reason)


def _extend(case: TaskCase, d: Disposition, config: LoopConfig, rec: _Recorder) -> None:
    wanted = extensions.request(case, d, config.calendar)
    case.task = case.task.model_copy(
        update={"extension_to": wanted, "extension_reason": (d.reason or "").strip()}
    )
    day = wanted.astimezone(deadlines.CST).date().isoformat()
    _note(case, rec, d, f"extension asked to {day}: {d.reason}")


def _grant_extension(case: TaskCase, d: Disposition, config: LoopConfig, rec: _Recorder) -> None:
    why = extensions.grant(case, config.calendar)
    _note(case, rec, d, f"{why} ({d.reason})" if (d.reason or "").strip() else why)


def _refuse_extension(case: TaskCase, d: Disposition, _: LoopConfig, rec: _Recorder) -> None:
    _note(case, rec, d, extensions.refuse(case, d))


def _note(case: TaskCase, rec: _Recorder, d: Disposition, why: str) -> None:
    """An audit row that keeps the state (an extension's steps): not counted as a transition."""
    count = case.event_count
    rec.move(case.task.state, d.event_time, d.actor, d.department, why)
    case.event_count = count


def _redispatch(case: TaskCase, department: str, now: datetime, config: LoopConfig) -> None:
    sign_spec, _ = deadlines.level_specs(case.task.level, config.deadlines)
    sign = deadlines.deadline_of(now, case.sign_spec or sign_spec, config.calendar)
    case.task = case.task.model_copy(
        update={
            "department": department,
            "sign_deadline": sign.at,
            "dispose_deadline": max(sign.at, case.task.dispose_deadline),
            "deadline_basis": weakest([sign.basis, case.task.deadline_basis]),
        }
    )
    case.fired = [f for f in case.fired if not f.startswith("sign:")]
    case.sign_started = now


_Handler = Callable[[TaskCase, Disposition, LoopConfig, _Recorder], None]
_HANDLERS: dict[DispositionAction, _Handler] = {
    DispositionAction.sign: _sign,
    DispositionAction.return_: _return,
    DispositionAction.start: _start,
    DispositionAction.dispose: _dispose,
    DispositionAction.close: _close,
    DispositionAction.reopen: _reopen,
    DispositionAction.assign: _assign,
    DispositionAction.extend: _extend,
    DispositionAction.grant_extension: _grant_extension,
    DispositionAction.refuse_extension: _refuse_extension,
}
