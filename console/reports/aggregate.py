"""The report itself, computed from a :class:`History` without any I/O.

Definitions (the README's "Reports (研判)" says the same):

* warnings: those first seen in the period, counted by their level now, their source and
  their region (county code);
* tasks opened: created in the period; disposed / closed: a ``disposed`` / ``closed``
  transition in the period; overdue: not disposed or closed at the period's end although
  its disposal deadline had passed;
* per department: a disposal counts for the department that recorded it; it is on time when
  it came by the task's disposal deadline. On-time rate = on time / (disposals + overdue);
  times to sign and to dispose are *clock hours* from the task's latest dispatch (a returned
  task is dispatched anew) to the sign-for and to the disposal;
* top enterprises by risk: sum of level weights (red 4 … blue 1) of their new warnings; by
  complaints: occurrences of their complaint warnings;
* rule precision: the warnings behind the tasks disposed in the period, 属实 (warning
  ``resolved``) vs 不属实 (``false_alarm``); a disposal recorded as ``not_found`` (查无此事)
  counts for neither, as in the worker's own counters (``loop.closed_loop``);
* model precision: the same, per model version whose score is among the warning's reasons
  (the worker keeps no such counter: the disposals teach the model, and this says how often
  they confirmed it).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from console.reports import labels
from console.reports.records import (
    AlertRow,
    Count,
    DepartmentStats,
    Enterprise,
    EventRow,
    History,
    Period,
    Precision,
    Report,
    TaskFlow,
    TaskRow,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from datetime import datetime

TOP = 10
_DONE = frozenset({"disposed", "closed"})


def build(
    history: History,
    period: Period,
    *,
    now: datetime,
    region_names: Mapping[str, str] | None = None,
) -> Report:
    """The report of ``period`` from ``history``; ``now`` bounds "overdue" for a period that
    has not ended yet (today's report counts what is overdue so far)."""
    alerts = [a for a in history.alerts if period.start <= a.first_seen < period.end]
    names = region_names or {}
    return Report(
        period=period,
        generated_at=now,
        warnings_total=len(alerts),
        by_level=_counts(
            Counter(a.level for a in alerts), labels.level, order=list(labels.LEVEL_ORDER)
        ),
        by_source=_counts(Counter(a.source for a in alerts), labels.source),
        by_region=_counts(
            Counter(a.region_code or "" for a in alerts), lambda c: _region(c, names)
        ),
        tasks=task_flow(history, period, now=now),
        departments=departments(history, period, now=now),
        top_risk=top_enterprises(alerts, score=lambda a: labels.LEVEL_WEIGHT.get(a.level, 0)),
        top_complaints=top_enterprises(
            [a for a in alerts if a.source == "complaints"], score=lambda a: a.occurrences
        ),
        precision=precision(history, period, lambda a: a.rules),
        model_precision=precision(history, period, lambda a: a.models),
    )


def task_flow(history: History, period: Period, *, now: datetime) -> TaskFlow:
    """Opened, disposed, closed in the period; overdue at its end (or now, if sooner)."""
    moves = _in_period(history.events, period)
    return TaskFlow(
        opened=sum(1 for t in history.tasks if period.start <= t.created_at < period.end),
        disposed=sum(1 for e in moves if e.to_state == "disposed"),
        closed=sum(1 for e in moves if e.to_state == "closed"),
        overdue=len(overdue_tasks(history, _cutoff(period, now))),
    )


def overdue_tasks(history: History, at: datetime) -> list[TaskRow]:
    """Tasks created before ``at``, past their disposal deadline, and not done at ``at``."""
    state = _state_at(history.events, at)
    return [
        t
        for t in history.tasks
        if t.created_at < at
        and t.dispose_deadline < at
        and state.get(t.task_id, "created") not in _DONE
    ]


def departments(history: History, period: Period, *, now: datetime) -> tuple[DepartmentStats, ...]:
    """Each department's disposals, on-time share and average hours to sign and to dispose."""
    deadline = {t.task_id: t.dispose_deadline for t in history.tasks}
    sign_hours: dict[str, list[float]] = defaultdict(list)
    dispose_hours: dict[str, list[float]] = defaultdict(list)
    disposed: Counter[str] = Counter()
    on_time: Counter[str] = Counter()
    dispatched: dict[str, datetime] = {t.task_id: t.created_at for t in history.tasks}
    for e in history.events:
        if e.to_state == "dispatched":
            dispatched[e.task_id] = e.at
        if not period.start <= e.at < period.end:
            continue
        since = dispatched.get(e.task_id)
        hours = None if since is None else (e.at - since).total_seconds() / 3600
        if e.to_state == "signed" and hours is not None:
            sign_hours[e.department].append(hours)
        elif e.to_state == "disposed":
            disposed[e.department] += 1
            if hours is not None:
                dispose_hours[e.department].append(hours)
            if e.task_id in deadline and e.at <= deadline[e.task_id]:
                on_time[e.department] += 1
    late = Counter(t.department for t in overdue_tasks(history, _cutoff(period, now)))
    names = sorted(set(disposed) | set(late) | set(sign_hours))
    return tuple(
        DepartmentStats(
            department=d,
            disposed=disposed[d],
            on_time=on_time[d],
            overdue_open=late[d],
            on_time_rate=_ratio(on_time[d], disposed[d] + late[d]),
            avg_hours_to_sign=_mean(sign_hours[d]),
            avg_hours_to_dispose=_mean(dispose_hours[d]),
        )
        for d in names
    )


def top_enterprises(
    alerts: Iterable[AlertRow], *, score: Callable[[AlertRow], int]
) -> tuple[Enterprise, ...]:
    """Enterprises (by USCC) with the highest summed ``score(alert)``, ties by USCC."""
    total: Counter[str] = Counter()
    count: Counter[str] = Counter()
    name: dict[str, str] = {}
    for a in alerts:
        if not a.uscc:
            continue
        total[a.uscc] += score(a)
        count[a.uscc] += 1
        name[a.uscc] = a.entity_name or name.get(a.uscc) or a.uscc
    ranked = sorted(total, key=lambda u: (-total[u], u))[:TOP]
    return tuple(
        Enterprise(uscc=u, name=name[u], warnings=count[u], score=total[u]) for u in ranked
    )


def precision(
    history: History, period: Period, names: Callable[[AlertRow], Iterable[str]]
) -> tuple[Precision, ...]:
    """Per name (``names`` of a warning: its rules, or its model versions), the verified
    results of the tasks disposed in the period (first disposal of a task only: a reopened
    task is not counted twice), the most judged first."""
    alert_of = {t.task_id: t.alert_id for t in history.tasks}
    ended = {a.alert_id: a for a in history.ended_alerts}
    seen: set[str] = set()
    confirmed: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    for e in history.events:
        if e.to_state != "disposed" or e.task_id in seen:
            continue
        seen.add(e.task_id)
        alert = ended.get(alert_of.get(e.task_id, ""))
        if alert is None or not period.start <= e.at < period.end:
            continue
        if alert.state == "false_alarm":
            wrong.update(names(alert))
        elif alert.state == "resolved" and (e.reason or "") != "not_found":
            confirmed.update(names(alert))
    rules = sorted(set(confirmed) | set(wrong))
    return tuple(
        Precision(
            name=r,
            confirmed=confirmed[r],
            false_alarm=wrong[r],
            precision=_ratio(confirmed[r], confirmed[r] + wrong[r]),
        )
        for r in sorted(rules, key=lambda r: (-(confirmed[r] + wrong[r]), r))
    )


def _state_at(events: Iterable[EventRow], at: datetime) -> dict[str, str]:
    state: dict[str, str] = {}
    for e in events:  # in recorded order
        if e.at < at:
            state[e.task_id] = e.to_state
    return state


def _in_period(events: Iterable[EventRow], period: Period) -> list[EventRow]:
    return [e for e in events if period.start <= e.at < period.end]


def _cutoff(period: Period, now: datetime) -> datetime:
    return min(period.end, now)


def _counts(
    counter: Counter[str], label: Callable[[str], str], *, order: list[str] | None = None
) -> tuple[Count, ...]:
    """Bars in ``order`` where given (levels: most severe first), else largest first."""
    rank = {k: i for i, k in enumerate(order or ())}
    keys = sorted(counter, key=lambda k: (rank.get(k, len(rank)), -counter[k], k))
    return tuple(Count(key=k, label=label(k), value=counter[k]) for k in keys)


def _region(code: str, names: Mapping[str, str]) -> str:
    if not code:
        return "未知地区"
    for prefix in (code, code[:4] + "00", code[:4]):
        if prefix in names:
            return f"{names[prefix]} {code}" if prefix != code else names[code]
    return code


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
