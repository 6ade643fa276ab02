"""The typed records a report is made of: what the store hands in and what a report holds.

``History`` is the slice of the task store a period needs (rows as stored, nothing computed);
``Report`` is everything the page, the charts and the PDF show. Keeping both as frozen pydantic
records lets the aggregation stay a pure function and its tests build histories by hand.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TaskRow(_Frozen):
    """A task's current row: who holds it and its deadlines (a return brings fresh ones)."""

    task_id: str
    alert_id: str
    department: str
    state: str
    level: str
    created_at: datetime
    sign_deadline: datetime
    dispose_deadline: datetime


class EventRow(_Frozen):
    """One audited transition of a task, in the order the store recorded it."""

    seq: int
    task_id: str
    at: datetime
    from_state: str | None = None
    to_state: str
    department: str
    reason: str | None = None


class AlertRow(_Frozen):
    """One warning (one epoch of a fingerprint) as it is now."""

    alert_id: str
    state: str
    level: str
    source: str
    region_code: str | None = None
    uscc: str | None = None
    entity_name: str | None = None
    occurrences: int = 1
    first_seen: datetime
    rules: tuple[str, ...] = ()
    """``pack/rule`` of every rule reason (the keys the worker's precision counters use)."""
    models: tuple[str, ...] = ()
    """``name@version`` of every model reason: which model version's score raised or joined
    the warning, so a modeller sees how often the departments confirmed it."""


class History(_Frozen):
    """What the store holds about one period: the warnings first seen in it, and every task
    that was open at some time in it, with all of those tasks' events."""

    alerts: tuple[AlertRow, ...] = ()
    tasks: tuple[TaskRow, ...] = ()
    events: tuple[EventRow, ...] = ()
    ended_alerts: tuple[AlertRow, ...] = ()
    """The warnings of the tasks disposed in the period (for rule precision)."""


class Period(_Frozen):
    """A report's span in Beijing time: ``[start, end)``, a day or an ISO week."""

    kind: str  # "daily" | "weekly"
    label: str  # "2026-12-01" | "2026-W49"
    first_day: date
    start: datetime
    end: datetime


class Count(_Frozen):
    """One bar: a key, the text a person reads for it, a number."""

    key: str
    label: str
    value: int


class DepartmentStats(_Frozen):
    """A department's timeliness in the period; hours are clock hours, not working hours."""

    department: str
    disposed: int = 0
    on_time: int = 0
    overdue_open: int = 0
    on_time_rate: float | None = None
    """on_time / (disposed + overdue_open); None when nothing was due."""
    avg_hours_to_sign: float | None = None
    avg_hours_to_dispose: float | None = None


class Enterprise(_Frozen):
    """An enterprise ranked by risk (level-weighted warnings) or by complaint warnings."""

    uscc: str
    name: str
    warnings: int
    score: int


class Precision(_Frozen):
    """A rule's or a model version's verified results in the period: confirmed / (confirmed
    + false_alarm)."""

    name: str
    """``pack/rule``, or ``model@version``."""
    confirmed: int
    false_alarm: int
    precision: float | None


class TaskFlow(_Frozen):
    """Tasks in the period: opened, disposed, closed, and still open past their deadline at
    its end."""

    opened: int = 0
    disposed: int = 0
    closed: int = 0
    overdue: int = 0


class Report(_Frozen):
    """A daily or weekly report (研判), ready to show, draw or print."""

    period: Period
    generated_at: datetime
    warnings_total: int = 0
    by_level: tuple[Count, ...] = ()
    by_source: tuple[Count, ...] = ()
    by_region: tuple[Count, ...] = ()
    tasks: TaskFlow = Field(default_factory=TaskFlow)
    departments: tuple[DepartmentStats, ...] = ()
    top_risk: tuple[Enterprise, ...] = ()
    top_complaints: tuple[Enterprise, ...] = ()
    precision: tuple[Precision, ...] = ()
    """Per rule."""
    model_precision: tuple[Precision, ...] = ()
    """Per model version: the warnings a model's score raised or joined."""
