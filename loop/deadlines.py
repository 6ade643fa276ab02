"""Disposal deadlines: ``"30m"`` and ``"4h"`` in clock time, ``"3wd"`` in working days.

Clock durations (``m``, ``h``, ``d``) are plain elapsed time: a red warning's 30 minutes run
through nights and holidays alike, because a trapped passenger does not wait for Monday.

Working days (``wd``) follow China's statutory calendar, including the make-up working
weekends (调休), from the layered calendar of ``loop.calendar`` (the risk centre's notice files,
then the ``chinese_calendar`` package, then a provisional calendar derived from the law), so a
working-day deadline is always computable and says what it rests on (:class:`Deadline`). The counting rule is the
legal one for periods (民法典 第二百零一条; 行政许可法 第八十二条): **the day the clock starts is
not counted; counting begins the next day, and the period ends at the end (24:00) of its last
day**, all in China Standard Time (UTC+8, no daylight saving since 1991). So ``"N wd"`` from
``now`` ends at 23:59:59 CST of the N-th working day *after* ``now``'s local date — whether
``now`` itself is a working day or not, and whatever its time of day.

"1 working day" from Friday 17:00 CST therefore ends Monday 23:59:59 CST when Monday is a
working day; from the Friday before a Spring Festival week it ends on the first working day
after the holiday, which may be a make-up Sunday. A task created Monday 08:00 also has until
Tuesday 23:59:59: the start day is never a partial first day, which keeps the rule simple to
explain and the same for everyone.

>>> from datetime import datetime, timezone
>>> fri = datetime(2024, 5, 17, 9, 0, tzinfo=timezone.utc)  # Friday 17:00 CST
>>> deadline_after(fri, "1wd").isoformat()  # Monday 23:59:59 CST
'2024-05-20T15:59:59+00:00'
>>> deadline_after(fri, "4h").isoformat()
'2024-05-17T13:00:00+00:00'
>>> before_makeup = datetime(2024, 5, 10, 9, 0, tzinfo=timezone.utc)  # Friday before 调休
>>> deadline_after(before_makeup, "1wd").isoformat()  # Saturday 11 May 2024 was a working day
'2024-05-11T15:59:59+00:00'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING

from loop.calendar import Basis, WorkingCalendar, shipped_calendar, weakest
from loop.errors import CalendarUnavailable
from schemas.errors import ConfigError
from schemas.records import Level

if TYPE_CHECKING:
    from config.settings import DeadlineSettings

CST = timezone(timedelta(hours=8), "CST")
"""China Standard Time: the calendar working days are counted in."""

END_OF_DAY = time(23, 59, 59)
"""A period ends at 24:00 of its last day; one second earlier keeps the instant on that date."""

_SPEC = re.compile(r"\s*(\d+)\s*(wd|m|h|d)\s*", re.ASCII)
_CLOCK = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
_MAX_SCAN_DAYS = 400  # no statutory break is this long; stops a broken calendar from looping

Workday = Callable[[date], bool]


@dataclass(frozen=True)
class Deadline:
    """A deadline and what it rests on: ``basis`` is the weakest calendar source of the days
    counted (``clock`` for minutes and hours), ``explain`` the days skipped and why."""

    at: datetime
    basis: Basis
    explain: tuple[str, ...] = ()


@dataclass(frozen=True)
class Duration:
    """A parsed deadline spec: ``amount`` of ``unit`` (``m``, ``h``, ``d`` or ``wd``)."""

    amount: int
    unit: str

    @property
    def working_days(self) -> bool:
        """Whether the count skips weekends and holidays, which needs the calendar."""
        return self.unit == "wd"

    def clock(self) -> timedelta:
        """The elapsed time of a clock duration; working days have none."""
        if self.working_days:
            raise ConfigError(f"{self} counts working days, it has no fixed length")
        return self.amount * _CLOCK[self.unit]

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


def parse(spec: str) -> Duration:
    """Parse ``"30m"``, ``"4h"``, ``"2d"`` or ``"3wd"``; anything else is a ``ConfigError``.

    >>> parse("3wd")
    Duration(amount=3, unit='wd')
    """
    match = _SPEC.fullmatch(spec) if isinstance(spec, str) else None
    if match is None:
        raise ConfigError(
            f"deadline {spec!r} is not understood: write a whole number and a unit, "
            "m (minutes), h (hours), d (calendar days) or wd (working days), e.g. '30m', '3wd'"
        )
    amount = int(match.group(1))
    if amount < 1:
        raise ConfigError(f"deadline {spec!r} must be at least 1 {match.group(2)}")
    return Duration(amount, match.group(2))


_DEFAULT: WorkingCalendar | None = None


def default_calendar() -> WorkingCalendar:
    """The shipped calendar, built once (callers in a worker pass the hot-loaded one)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = shipped_calendar()
    return _DEFAULT


def _utc(moment: datetime) -> datetime:
    # Records are UTC; a naive datetime is taken as UTC rather than as the server's zone.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def working_days_after(
    now: datetime, days: int, calendar: WorkingCalendar | None = None
) -> Deadline:
    """End (23:59:59 CST) of the ``days``-th working day after ``now``'s CST date, in UTC,
    with the basis of the years counted through and the days off skipped."""
    cal = calendar or default_calendar()
    day = _utc(now).astimezone(CST).date()
    counted = 0
    bases = set()
    skipped: list[str] = []
    for _ in range(days * _MAX_SCAN_DAYS):
        day += timedelta(days=1)
        bases.add(cal.basis(day.year))
        if cal.is_workday(day):
            counted += 1
            if counted == days:
                at = datetime.combine(day, END_OF_DAY, CST).astimezone(UTC)
                return Deadline(at, weakest(bases), tuple(skipped))
        else:
            skipped.append(f"{day.isoformat()} {cal.day_off(day) or '周末'}")
    raise CalendarUnavailable(f"found no {days} working days after {now.isoformat()}")


def add_working_days(now: datetime, days: int, calendar: WorkingCalendar | None = None) -> datetime:
    """End (23:59:59 CST) of the ``days``-th working day after ``now``'s CST date, in UTC."""
    return working_days_after(now, days, calendar).at


def deadline_of(now: datetime, spec: str, calendar: WorkingCalendar | None = None) -> Deadline:
    """The :class:`Deadline` of ``spec`` started at ``now``; always after ``now``, never an
    error for a valid spec (a year without data is counted provisionally)."""
    duration = parse(spec)
    if duration.working_days:
        return working_days_after(now, duration.amount, calendar)
    return Deadline(_utc(now).astimezone(UTC) + duration.clock(), Basis.clock)


def deadline_after(now: datetime, spec: str, calendar: WorkingCalendar | None = None) -> datetime:
    """The instant (UTC) a deadline of ``spec`` started at ``now`` expires; always after ``now``."""
    return deadline_of(now, spec, calendar).at


def level_specs(level: Level, settings: DeadlineSettings) -> tuple[str, str]:
    """(sign-for, dispose) specs of a warning level from the settings."""
    return getattr(settings, f"sign_{level.value}"), getattr(settings, f"dispose_{level.value}")


def validate(settings: DeadlineSettings) -> None:
    """Parse every spec now, so a typo fails at start-up instead of on the first red warning."""
    for level in Level:
        for spec in level_specs(level, settings):
            parse(spec)


def task_deadlines(
    level: Level,
    settings: DeadlineSettings,
    now: datetime,
    *,
    sign: str | None = None,
    dispose: str | None = None,
    calendar: WorkingCalendar | None = None,
) -> tuple[datetime, datetime, Basis]:
    """(sign-for, dispose) deadlines of a task created at ``now``, both counted from ``now``,
    and the weakest calendar basis of the two.

    ``sign``/``dispose`` override the level's defaults (a rule's TaskTemplate may set them).
    The dispose deadline is never earlier than the sign deadline.
    """
    default_sign, default_dispose = level_specs(level, settings)
    sign_at = deadline_of(now, sign or default_sign, calendar)
    dispose_at = deadline_of(now, dispose or default_dispose, calendar)
    return sign_at.at, max(sign_at.at, dispose_at.at), weakest([sign_at.basis, dispose_at.basis])
