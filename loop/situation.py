"""The situation (大屏) as numbers: pure tallies over the warnings and tasks a person may see.

The console asks the worker's API for the warnings and tasks in the person's jurisdiction and
hands them here; nothing in this module reads Kafka, SQL or the clock, so every count is a unit
test. Which deadline a task is racing is ``loop.supervision.phase``'s (sign-for while waiting to
be signed, disposal once signed): "overdue" means what the 催办/督办 ladder means by it.

>>> from datetime import UTC, datetime
>>> now = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
>>> trend([], now).today
0
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from loop.supervision import overdue, phase, racing
from schemas.records import Alert, Level, Task

if TYPE_CHECKING:
    from collections.abc import Iterable

ZONE = ZoneInfo("Asia/Shanghai")
LIVE_LEVELS = frozenset({Level.red, Level.orange})
"""Levels pushed to the wall as they happen; lower ones only count."""
ENDED = frozenset({"resolved", "false_alarm"})
DUE_SOON = timedelta(hours=24)


@dataclass(frozen=True)
class Tally:
    """Live (not ended) warnings counted four ways, largest first."""

    total: int
    by_level: list[tuple[str, int]]
    by_source: list[tuple[str, int]]
    by_region: list[tuple[str, int]]
    by_state: list[tuple[str, int]]


def tally(alerts: Iterable[Alert]) -> Tally:
    """Count the warnings that have not ended (resolved, false alarm) by level, source, region
    and state; levels in their own order (red first), the rest largest first."""
    live = [a for a in alerts if a.state.value not in ENDED]
    levels = Counter(a.level.value for a in live)
    return Tally(
        total=len(live),
        by_level=[(lv.value, levels[lv.value]) for lv in Level],
        by_source=Counter(a.source for a in live).most_common(),
        by_region=Counter(a.region_code or "—" for a in live).most_common(),
        by_state=Counter(a.state.value for a in live).most_common(),
    )


@dataclass(frozen=True)
class DepartmentLoad:
    """One department's open tasks: racing a deadline within a day, and past one."""

    department: str
    open: int
    due_soon: int
    overdue: int


def task_load(tasks: Iterable[Task], now: datetime) -> list[DepartmentLoad]:
    """Open tasks per department with the deadline each is racing, most overdue first.

    >>> from datetime import UTC
    >>> task_load([], datetime(2026, 12, 2, tzinfo=UTC))
    []
    """
    rows: dict[str, list[int]] = {}
    for task in tasks:
        deadline = racing(task)
        if deadline is None:  # disposed, closed, returned, in arbitration: no clock of theirs
            continue
        row = rows.setdefault(task.department, [0, 0, 0])
        row[0] += 1
        if overdue(task, now):
            row[2] += 1
        elif deadline - now <= DUE_SOON:
            row[1] += 1
    loads = [DepartmentLoad(d, *counts) for d, counts in rows.items()]
    return sorted(loads, key=lambda x: (-x.overdue, -x.due_soon, -x.open, x.department))


@dataclass(frozen=True)
class Trend:
    """Warnings first seen each Beijing day, the last 7 days before today and today."""

    days: list[tuple[date, int]]
    today: int
    average: float

    @property
    def ratio(self) -> float | None:
        """Today against the 7-day average (None: no history to compare with)."""
        return None if self.average == 0 else self.today / self.average


def trend(alerts: Iterable[Alert], now: datetime, days: int = 7) -> Trend:
    """Today's new warnings against each of the ``days`` before (Beijing calendar days)."""
    today = now.astimezone(ZONE).date()
    first = today - timedelta(days=days)
    seen = Counter(a.first_seen.astimezone(ZONE).date() for a in alerts)
    history = [(first + timedelta(days=i), seen[first + timedelta(days=i)]) for i in range(days)]
    return Trend(
        days=[*history, (today, seen[today])],
        today=seen[today],
        average=sum(n for _, n in history) / days,
    )


WITH_CENTRE = frozenset({"returned", "arbitration"})
"""Tasks a department gave back: the risk centre's to reassign, no department's clock running."""


@dataclass(frozen=True)
class Desk:
    """What waits for one person (the console's front page, 我的待办): the open tasks they may
    see by where they stand, the few racing their deadlines soonest, and the live red and orange
    warnings of their regions, newest first."""

    to_sign: int
    in_hand: int
    due_soon: int
    overdue: int
    with_centre: int
    next_tasks: list[tuple[Task, datetime]]
    """(task, the deadline it races), soonest first (overdue ones lead)."""
    live: int
    latest: list[Alert]


def desk(tasks: Iterable[Task], alerts: Iterable[Alert], now: datetime, shown: int = 5) -> Desk:
    """The front page's counts: tasks waiting to be signed for, in hand (signed, started), due
    within a day, past their deadline, given back to the centre; the ``shown`` tasks racing
    their deadline soonest; the live red and orange warnings (not ended), the newest first.

    >>> from datetime import UTC
    >>> d = desk([], [], datetime(2026, 12, 2, tzinfo=UTC))
    >>> (d.to_sign, d.overdue, d.live, d.next_tasks)
    (0, 0, 0, [])
    """
    racing_now: list[tuple[Task, datetime]] = []
    counts = Counter[str]()
    for task in tasks:
        if task.state.value in WITH_CENTRE:
            counts["with_centre"] += 1
        deadline = racing(task)
        if deadline is None:
            continue
        racing_now.append((task, deadline))
        counts["to_sign" if phase(task) == "sign" else "in_hand"] += 1
        if overdue(task, now):
            counts["overdue"] += 1
        elif deadline - now <= DUE_SOON:
            counts["due_soon"] += 1
    racing_now.sort(key=lambda pair: (pair[1], pair[0].task_id))
    live = [a for a in alerts if a.level in LIVE_LEVELS and a.state.value not in ENDED]
    live.sort(key=lambda a: (a.last_seen, a.alert_id), reverse=True)
    return Desk(
        to_sign=counts["to_sign"],
        in_hand=counts["in_hand"],
        due_soon=counts["due_soon"],
        overdue=counts["overdue"],
        with_centre=counts["with_centre"],
        next_tasks=racing_now[:shown],
        live=len(live),
        latest=live[:shown],
    )


def is_live_news(alert: Alert) -> bool:
    """Does this alert record belong on the wall as it happens: a red or orange warning that is
    new or has just been raised, and that deserves a person's attention (``notify``)?"""
    return (
        alert.notify
        and not alert.shadow
        and not alert.historical
        and alert.level in LIVE_LEVELS
        and alert.state.value in {"new", "escalated"}
    )
