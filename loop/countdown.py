"""How long a department has left, in the words of its workbench: working days, or overdue.

A deadline counted in working days (``loop.deadlines``) is shown the same way: the working days
between today (CST) and the deadline's day on the same calendar, so a task due after the
National Day week does not look a week late to the person who has it. A deadline within the
day shows its hours, and one that has passed is overdue — by how many working days, which is
what 督办 and 通报 are counted in.

>>> from datetime import UTC, datetime
>>> from loop.deadlines import default_calendar
>>> cal = default_calendar()
>>> mon = datetime(2024, 6, 3, 1, 0, tzinfo=UTC)  # Monday 09:00 CST
>>> countdown(mon, datetime(2024, 6, 5, 15, 59, 59, tzinfo=UTC), cal).text  # Wednesday's end
'剩 2 个工作日'
>>> countdown(mon, datetime(2024, 6, 3, 9, 0, tzinfo=UTC), cal).text
'剩 8 小时'
>>> late = countdown(datetime(2024, 6, 11, 1, 0, tzinfo=UTC), mon, cal)  # after 端午节
>>> late.overdue, late.text
(True, '逾期 5 个工作日')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from loop.deadlines import CST

if TYPE_CHECKING:
    from loop.calendar import WorkingCalendar

_MAX_DAYS = 3660  # ten years: a stored deadline further off is shown, not counted


@dataclass(frozen=True)
class Countdown:
    """Working days left (``overdue``: working days late), and the words for them."""

    days: int
    overdue: bool
    text: str


def countdown(now: datetime, deadline: datetime, calendar: WorkingCalendar) -> Countdown:
    """The countdown to ``deadline`` seen at ``now``."""
    today, due = now.astimezone(CST).date(), deadline.astimezone(CST).date()
    if now > deadline:
        late = _workdays_between(due, today, calendar)
        return Countdown(late, True, f"逾期 {late} 个工作日" if late else "已逾期")
    left = _workdays_between(today, due, calendar)
    if left == 0:
        hours = max(1, int((deadline - now).total_seconds() // 3600))
        return Countdown(0, False, f"剩 {hours} 小时" if hours < 24 else "今日到期")
    return Countdown(left, False, f"剩 {left} 个工作日")


def _workdays_between(start: date, end: date, calendar: WorkingCalendar) -> int:
    """Working days after ``start`` up to and including ``end``."""
    span = min((end - start).days, _MAX_DAYS)
    return sum(calendar.is_workday(start + timedelta(days=n)) for n in range(1, span + 1))
