"""A report's period: one Beijing day, or one ISO week (Monday to Sunday), as UTC bounds.

The centre works on Beijing time, so "the report of 1 December" runs from 00:00+08:00, not
from midnight UTC; the store keeps UTC, so the bounds are converted once here.

>>> p = daily("2026-12-01")
>>> p.label, p.start.isoformat(), p.end.isoformat()
('2026-12-01', '2026-11-30T16:00:00+00:00', '2026-12-01T16:00:00+00:00')
>>> weekly("2026-W49").first_day.isoformat(), weekly("2026-12-03").label
('2026-11-30', '2026-W49')
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from console.reports.records import Period
from schemas.errors import RiskLoopError

ZONE = ZoneInfo("Asia/Shanghai")
_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")


class BadPeriod(RiskLoopError):
    """A date or week a person typed that names no period: the message says what to type."""


def daily(text: str) -> Period:
    """The day ``YYYY-MM-DD`` (Beijing time)."""
    day = _date(text)
    return _period("daily", day.isoformat(), day, 1)


def weekly(text: str) -> Period:
    """The ISO week ``YYYY-Www``, or the week holding the date ``YYYY-MM-DD``."""
    match = _WEEK.fullmatch(text.strip())
    if match:
        try:
            monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError as exc:
            raise BadPeriod(f"week {text!r}: {exc}") from exc
    else:
        day = _date(text)
        monday = day - timedelta(days=day.weekday())
    year, week, _ = monday.isocalendar()
    return _period("weekly", f"{year}-W{week:02d}", monday, 7)


def today() -> date:
    """Today in Beijing."""
    return datetime.now(ZONE).date()


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadPeriod(
            f"date {text[:40]!r}: give it as YYYY-MM-DD (or a week as YYYY-Www)"
        ) from None


def _period(kind: str, label: str, first: date, days: int) -> Period:
    start = datetime.combine(first, time(), ZONE)
    end = datetime.combine(first + timedelta(days=days), time(), ZONE)
    return Period(
        kind=kind,
        label=label,
        first_day=first,
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
    )
