"""The overdue ladder: 催办 (reminder) before a deadline, 督办 when it passes, 通报 after.

While a task waits to be signed for (dispatched, reopened) the ladder runs against its
sign-for deadline; once signed (signed, in_progress) against its dispose deadline. A task in
arbitration is the risk centre's own business, and a disposed or closed one is done.

* 催办 when ``config.reminder_at`` of the time from the phase's start to its deadline has
  passed (default 80 %) — skipped, not sent late, if the deadline has already passed;
* 督办 at the deadline;
* 通报 ``config.notice_after`` (default ``5wd``, five working days) after the deadline.

:func:`due` records each step it raises in ``case.fired`` (``"sign:reminder"`` …), so a timer
may call it as often as it likes, and again after a restart: each step is raised exactly once
per task and phase. A re-routed task gets a fresh sign-for ladder, a reopened one fresh both.
Events carry the step's scheduled time as ``at`` and an id derived from task, phase, step and
deadline, so they are the same whenever the timer happens to notice them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

from loop import deadlines, ids
from loop.calendar import Basis
from loop.task_opening import OPEN, TaskCase
from schemas.records import SupervisionEvent, SupervisionKind, Task, TaskState

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from loop.loop_config import LoopConfig

SIGN_PHASE = frozenset({TaskState.dispatched, TaskState.reopened})
"""States in which a department's sign-for clock runs (a raised case tightens it: loop.cases)."""
_DISPOSE = {TaskState.signed, TaskState.in_progress}


def phase(task: Task) -> str | None:
    """The ladder's phase: ``sign`` while waiting to be signed for, ``dispose`` once signed."""
    if task.state in SIGN_PHASE:
        return "sign"
    return "dispose" if task.state in _DISPOSE else None


def racing(task: Task) -> datetime | None:
    """The deadline the ladder runs against now (sign-for, then disposal); None when no
    clock of the department's is running (created, returned, in arbitration, done)."""
    current = phase(task)
    if current is None:
        return None
    return task.sign_deadline if current == "sign" else task.dispose_deadline


def overdue(task: Task, now: datetime) -> bool:
    """Past the deadline it is racing: what 督办 means by overdue (the gauges, the 大屏).

    >>> from datetime import UTC
    >>> overdue.__name__
    'overdue'
    """
    deadline = racing(task)
    return deadline is not None and now > deadline


class TaskBrief(NamedTuple):
    """What a wall tick needs of a task without reading it (streams/task_stage.py keeps one per
    task until its case changes, so a task's case can go cold: a province's open tasks are not
    held decoded to be counted every tick). Times are POSIX timestamps, ``inf`` for never."""

    open: bool
    department: str
    provisional: bool  # deadlines counted on a provisional calendar year: recount on a notice
    racing: float  # the deadline the ladder runs against (:func:`racing`)
    due: float  # the next ladder step not yet raised (:func:`next_due`)

    @classmethod
    def of(cls, task: Task, due: datetime | None = None) -> TaskBrief:
        """The brief of ``task`` whose next ladder step is at ``due``."""
        deadline = racing(task)
        return cls(
            task.state in OPEN,
            task.department,
            task.deadline_basis is Basis.provisional,
            math.inf if deadline is None else deadline.timestamp(),
            math.inf if due is None else due.timestamp(),
        )


def brief(case: TaskCase, config: LoopConfig) -> TaskBrief:
    """``case`` in brief, its next ladder step included."""
    return TaskBrief.of(case.task, next_due(case, config))


def open_and_overdue(tasks: Iterable[Task], now: datetime) -> tuple[dict[str, int], dict[str, int]]:
    """Open tasks (``loop.task_opening.OPEN``) per department, and how many of them are
    :func:`overdue`: what the worker's ``tasks_open`` and ``tasks_overdue`` gauges show.

    >>> from datetime import UTC, datetime
    >>> open_and_overdue([], datetime(2026, 12, 2, tzinfo=UTC))
    ({}, {})
    """
    return tally((TaskBrief.of(task) for task in tasks), now)


def tally(briefs: Iterable[TaskBrief], now: datetime) -> tuple[dict[str, int], dict[str, int]]:
    """:func:`open_and_overdue` of the tasks these briefs describe."""
    ts = now.timestamp()
    open_by_dept: dict[str, int] = {}
    overdue_by_dept: dict[str, int] = {}
    for b in briefs:
        if not b.open:
            continue
        open_by_dept[b.department] = open_by_dept.get(b.department, 0) + 1
        if ts > b.racing:  # overdue(): strictly past the deadline raced
            overdue_by_dept[b.department] = overdue_by_dept.get(b.department, 0) + 1
    return open_by_dept, overdue_by_dept


def schedule(case: TaskCase, config: LoopConfig) -> list[tuple[str, SupervisionKind, datetime]]:
    """(phase, step, when) of the current phase's ladder; empty when no clock is running."""
    task = case.task
    if task.state in SIGN_PHASE:
        phase, start, deadline = "sign", case.sign_started, task.sign_deadline
    elif task.state in _DISPOSE:
        phase, start, deadline = "dispose", case.dispose_started, task.dispose_deadline
    else:
        return []
    remind = start + (deadline - start) * config.reminder_at
    notice = deadlines.deadline_after(deadline, config.notice_after, config.calendar)
    return [
        (phase, SupervisionKind.reminder, remind),
        (phase, SupervisionKind.supervision, deadline),
        (phase, SupervisionKind.notice, notice),
    ]


def next_due(case: TaskCase, config: LoopConfig) -> datetime | None:
    """When :func:`due` will next have something to do (for the worker's timer), if ever."""
    pending = [
        at for phase, kind, at in schedule(case, config) if f"{phase}:{kind}" not in case.fired
    ]
    return min(pending, default=None)


def due(
    case: TaskCase, now: datetime, config: LoopConfig
) -> tuple[TaskCase, list[SupervisionEvent]]:
    """Raise the ladder steps that are due at ``now`` and not yet raised; returns the new case."""
    steps = schedule(case, config)
    if not steps:
        return case, []
    task = case.task
    deadline = steps[1][2]
    fired = list(case.fired)
    events: list[SupervisionEvent] = []
    for phase, kind, at in steps:
        key = f"{phase}:{kind}"
        if key in fired or at > now:
            continue
        fired.append(key)
        if kind is SupervisionKind.reminder and now >= deadline:
            continue  # a reminder after the deadline is noise; 督办 says it better
        events.append(
            SupervisionEvent(
                event_id=ids.event_id(task.task_id, phase, kind.value, deadline.isoformat()),
                task_id=task.task_id,
                kind=kind,
                at=at,
                department=task.department,
                deadline=deadline,
                level=task.level,
                correlation_id=task.correlation_id,
            )
        )
    if fired == case.fired:
        return case, []
    return case.model_copy(update={"fired": fired}), events
