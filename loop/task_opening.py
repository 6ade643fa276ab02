"""Verification tasks (核查任务): one per warning epoch, built from the rule's TaskTemplate.

``task_id`` derives from ``alert_id`` (``loop.ids.task_id``), so a replayed or re-emitted
alert can never create a second task: the worker checks its task table for that id first.

A :class:`TaskCase` is the loop's working file on a task — the published :class:`Task` plus
what the state machine and supervision need (candidate departments, applied dispositions,
which 催办/督办/通报 fired). It is the value of the task table, keyed by task id; only
``case.task`` is published on ``tasks.<department>``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from loop import deadlines, ids
from loop.calendar import Basis, WorkingCalendar
from loop.deadlines import CST
from loop.errors import RoutingError
from loop.routing import RoutingTable, candidates
from schemas.hits import TaskTemplate
from schemas.records import Alert, DispositionResult, Task, TaskState

if TYPE_CHECKING:
    from config.settings import DeadlineSettings


class Recurrence(BaseModel):
    """The closed task a recurring warning follows up (see ``loop.closed_loop.recurrence``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    previous_task_id: str
    department: str | None = None


class TaskCommand(BaseModel):
    """Internal message (``riskloop.task-commands``, keyed by task id): open the task of a
    warning. Sent once per warning epoch (``loop.warnings.claim_tasks``); the task agent opens
    it unless the task exists (redeliveries, replays). An alert with ``case_task_id`` joined
    that case and outranks its lead (``loop.warnings.join_cases``): the agent raises the case's
    task to its level instead (``loop.cases.raise_level``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alert: Alert
    template: TaskTemplate | None = None
    recurrence: Recurrence | None = None


class TaskCase(BaseModel):
    """State of one task between dispositions: the store's value keyed by task id; also the
    internal feedback message (``riskloop.feedback``, keyed by the warning's entity)."""

    model_config = ConfigDict(extra="forbid")

    task: Task
    candidates: list[str]
    returned_by: list[str] = Field(default_factory=list)
    return_reasons: list[str] = Field(default_factory=list)
    applied: list[str] = Field(default_factory=list)
    event_count: int = 0
    sign_started: datetime
    dispose_started: datetime
    signed_at: datetime | None = None
    disposed_at: datetime | None = None
    closed_at: datetime | None = None
    result: DispositionResult | None = None
    evidence: list[str] = Field(default_factory=list)
    disposed_by: str | None = None
    category: str | None = None
    """The complaint category the disposal corrected to (``Disposition.category``), if any."""
    category_by: str | None = None
    """The event id of the disposition that corrected it."""
    fired: list[str] = Field(default_factory=list)
    sign_spec: str | None = None  # the specs the deadlines were counted with (None: level's)
    dispose_spec: str | None = None
    routing_note: str | None = None  # why the task went to the centre's intake, if it did

    @property
    def task_id(self) -> str:
        """The task's id, so callers need not know it lives on the inner task record."""
        return self.task.task_id

    def next_department(self) -> str | None:
        """The first candidate that has not returned the task yet."""
        return next((d for d in self.candidates if d not in self.returned_by), None)


_CHECK = (("核实预警所涉主体及异常情况", "现场核查并记录结论"), ("现场核查记录",))
MODEL_CHECKS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "inspections": (("复核检查记录与异常项", "必要时开展现场复查"), ("复查记录",)),
    "complaints": (
        ("核实投诉内容及涉事主体", "现场检查并记录问题", "答复投诉人"),
        ("现场检查记录", "答复记录"),
    ),
    "equipment": (
        ("核查设备运行与报警记录", "现场检查设备状态", "督促使用单位或维保单位整改"),
        ("设备运行记录", "现场照片"),
    ),
    "trucks": (("核查车辆轨迹与准运许可", "约谈运输企业"), ("轨迹截图", "约谈记录")),
    "truck_detections": (("核查车辆轨迹与准运许可", "约谈运输企业"), ("轨迹截图", "约谈记录")),
}
"""What a task for a warning without a rule's template (a model's own warning) asks, by
source: a task with an empty checklist left the department guessing what to verify."""


def departments_for(
    alert: Alert,
    template: TaskTemplate | None,
    routing: RoutingTable,
    recurrence: Recurrence | None = None,
) -> list[str]:
    """Candidate departments; a recurrence goes back to the department that closed it.

    Raises ``RoutingError`` when there is none at all (see :func:`route` for the fallback).
    """
    found = candidates(
        routing,
        source=alert.source,
        item_code=alert.item_code,
        region_code=alert.region_code,
        default=template.department if template else None,
    )
    if recurrence is not None and recurrence.department:
        found = [recurrence.department] + [d for d in found if d != recurrence.department]
    return found


def route(
    alert: Alert,
    template: TaskTemplate | None,
    routing: RoutingTable,
    centre: str | None = None,
    recurrence: Recurrence | None = None,
) -> tuple[list[str], str | None]:
    """Candidate departments and, when no route matches, why the task goes to ``centre``.

    An unroutable warning (a model-only warning outside every route, say) still needs a
    human: with ``centre`` it goes to the risk centre's intake with the reason, instead of
    failing to open; without it, ``RoutingError`` is raised.
    """
    try:
        return departments_for(alert, template, routing, recurrence), None
    except RoutingError as exc:
        if centre is None:
            raise
        return [centre], exc.message


def _task(
    alert: Alert,
    template: TaskTemplate | None,
    department: str,
    deadline_settings: DeadlineSettings,
    now: datetime,
    recurrence: Recurrence | None,
    calendar: WorkingCalendar | None,
) -> Task:
    sign_at, dispose_at, basis = deadlines.task_deadlines(
        alert.level,
        deadline_settings,
        now,
        sign=template.sign_deadline if template else None,
        dispose=template.dispose_deadline if template else None,
        calendar=calendar,
    )
    checks, evidence = (
        (template.checklist, template.required_evidence)
        if template
        else MODEL_CHECKS.get(alert.source, _CHECK)
    )
    return Task(
        task_id=ids.task_id(alert.alert_id),
        alert_id=alert.alert_id,
        fingerprint=alert.fingerprint,
        department=department,
        state=TaskState.created,
        level=alert.level,
        title=alert.title,
        entity=alert.entity,
        item_code=alert.item_code,
        uscc=alert.uscc,
        region_code=alert.region_code,
        checklist=list(checks),
        required_evidence=list(evidence),
        created_at=now,
        sign_deadline=sign_at,
        dispose_deadline=dispose_at,
        deadline_basis=basis,
        previous_task_id=recurrence.previous_task_id if recurrence else None,
        correlation_id=alert.correlation_id or alert.alert_id,
        entity_name=alert.entity_name,
        entity_address=alert.entity_address,
        complaint_text=alert.complaint_text,
        source=alert.source,
    )


def case_for(
    alert: Alert,
    template: TaskTemplate | None,
    routing: RoutingTable,
    deadline_settings: DeadlineSettings,
    now: datetime,
    *,
    recurrence: Recurrence | None = None,
    calendar: WorkingCalendar | None = None,
    centre: str | None = None,
) -> TaskCase:
    """A fresh :class:`TaskCase` around the verification task of ``alert``: state
    ``created``, routed, with deadlines.

    The template's own deadlines, when set, override the level's defaults. With ``centre``,
    an unroutable warning goes there instead of raising ``RoutingError``.
    """
    found, note = route(alert, template, routing, centre, recurrence)
    return TaskCase(
        task=_task(alert, template, found[0], deadline_settings, now, recurrence, calendar),
        candidates=found,
        sign_started=now,
        dispose_started=now,
        sign_spec=template.sign_deadline if template else None,
        dispose_spec=template.dispose_deadline if template else None,
        routing_note=note,
    )


OPEN = frozenset(
    {
        TaskState.created,
        TaskState.dispatched,
        TaskState.signed,
        TaskState.returned,
        TaskState.arbitration,
        TaskState.in_progress,
        TaskState.reopened,
    }
)
"""States in which a task is still open: its deadlines and supervision still matter."""


def provisional_years(case: TaskCase, calendar: WorkingCalendar) -> set[int]:
    """Years between the task's phase starts and its deadlines that are still provisional."""
    first = min(case.sign_started, case.dispose_started).astimezone(CST).year
    last = max(case.task.sign_deadline, case.task.dispose_deadline).astimezone(CST).year
    return {y for y in range(first, last + 1) if calendar.basis(y) is Basis.provisional}
