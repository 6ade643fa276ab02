"""Extensions (延期): a department asks for a later dispose deadline, the risk centre decides.

A department that holds a signed task (signed, in progress) and cannot finish in time asks,
with a reason, for a new dispose deadline ``extend_to``: the end (23:59:59 CST) of a working
day later than the current deadline, counted on the same calendar as every deadline
(``loop.calendar``), so a request for the Spring Festival is refused with the holiday's name
rather than granted and then missed. The request waits on the task (``Task.extension_to``); the
task's state does not change, and the department goes on working on it. The risk centre grants
it (the dispose deadline becomes the requested one and the overdue ladder starts again against
it) or refuses it with a reason (the deadline stays). One request at a time; every step is an
audit row like any transition, so the task's story (全程留痕) shows who asked, why, and who
decided.

>>> from datetime import UTC, datetime
>>> end_of_day(datetime(2026, 12, 9, 20, 0, tzinfo=UTC)).isoformat()  # 04:00 CST, 10 Dec
'2026-12-10T15:59:59+00:00'
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from loop.calendar import WorkingCalendar, weakest
from loop.deadlines import CST, END_OF_DAY
from loop.errors import BadExtension, InvalidTransition, MissingReason

if TYPE_CHECKING:
    from loop.task_opening import TaskCase
    from schemas.records import Disposition

STATES_NOTE = "a department asks once it has signed for the task (signed, in progress)"


def end_of_day(moment: datetime) -> datetime:
    """The end (23:59:59 CST) of ``moment``'s CST date, in UTC: where a period ends."""
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(CST)
    return datetime.combine(local.date(), END_OF_DAY, CST).astimezone(UTC)


def request(case: TaskCase, d: Disposition, calendar: WorkingCalendar) -> datetime:
    """Check a department's request; the deadline asked for (end of its day), or a LoopError."""
    task = case.task
    if task.extension_to is not None:
        raise InvalidTransition(
            f"an extension to {_day(task.extension_to)} is already waiting for the risk "
            "centre's decision",
            task_id=task.task_id,
        )
    if not (d.reason or "").strip():
        raise MissingReason("an extension request (延期申请) needs a reason", task_id=task.task_id)
    if d.extend_to is None:
        raise BadExtension(
            "an extension request needs extend_to: the new deadline's date", task_id=task.task_id
        )
    wanted = end_of_day(d.extend_to)
    day = wanted.astimezone(CST).date()
    if wanted <= d.event_time:
        raise BadExtension(f"{day.isoformat()} is in the past", task_id=task.task_id)
    if wanted <= task.dispose_deadline:
        raise BadExtension(
            f"{day.isoformat()} is not later than the current deadline "
            f"{_day(task.dispose_deadline)}",
            task_id=task.task_id,
        )
    if not calendar.is_workday(day):
        off = calendar.day_off(day) or "周末"
        raise BadExtension(
            f"{day.isoformat()} is a day off ({off}); ask for a working day", task_id=task.task_id
        )
    return wanted


def grant(case: TaskCase, calendar: WorkingCalendar) -> str:
    """Make the requested deadline the task's; the audit row's words. The ladder's dispose
    steps start again against the new deadline (a 督办 of the old one is history)."""
    task = case.task
    wanted = _pending(case)
    basis = weakest([task.deadline_basis, calendar.basis(wanted.astimezone(CST).year)])
    case.task = task.model_copy(
        update={
            "dispose_deadline": wanted,
            "deadline_basis": basis,
            "extension_to": None,
            "extension_reason": None,
            "extensions": task.extensions + 1,
        }
    )
    case.fired = [f for f in case.fired if not f.startswith("dispose:")]
    return f"extension granted: dispose deadline {_day(task.dispose_deadline)} → {_day(wanted)}"


def refuse(case: TaskCase, d: Disposition) -> str:
    """Drop the pending request (a reason is needed: the department must know why)."""
    wanted = _pending(case)
    if not (d.reason or "").strip():
        raise MissingReason("refusing an extension needs a reason", task_id=case.task_id)
    case.task = case.task.model_copy(update={"extension_to": None, "extension_reason": None})
    return f"extension to {_day(wanted)} refused: {d.reason}"


def withdraw(case: TaskCase) -> None:
    """Forget a pending request when the task leaves the dispose phase (disposed, reopened)."""
    if case.task.extension_to is not None:
        case.task = case.task.model_copy(update={"extension_to": None, "extension_reason": None})


def _pending(case: TaskCase) -> datetime:
    if case.task.extension_to is None:
        raise InvalidTransition(
            "no extension request is waiting on this task", task_id=case.task_id
        )
    return case.task.extension_to


def _day(moment: datetime) -> str:
    return moment.astimezone(CST).date().isoformat()
