"""Time windows of fences: night curfews, school hours, time-of-day speed limits.

A window is read in the local time of its zone (default ``Asia/Shanghai``): "22:00–06:00" means
the local night even though fixes carry UTC. A window whose end is not after its start runs
over midnight and belongs to the day it starts on, so ``{"days": ["fri"], "start": "22:00",
"end": "06:00"}`` covers Friday night up to Saturday 06:00. No ``days`` means every day.

>>> from datetime import datetime, timezone
>>> w = TimeWindow.parse({"days": ["mon"], "start": "22:00", "end": "06:00"})
>>> w.active(datetime(2026, 1, 26, 14, 30, tzinfo=timezone.utc))  # Monday 22:30 in Beijing
True
>>> w.active(datetime(2026, 1, 27, 21, 30, tzinfo=timezone.utc))  # Tuesday → Wednesday 05:30
False
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TZ = "Asia/Shanghai"

_DAY_NAMES = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}


class WindowError(ValueError):
    """A window is malformed; the fence loader turns it into a ConfigError naming the fence."""


def _minutes(text: object, what: str) -> int:
    if not isinstance(text, str) or len(text.split(":")) != 2:
        raise WindowError(f"{what} must be 'HH:MM', got {text!r}")
    hh, mm = text.split(":")
    if not (hh.isdigit() and mm.isdigit()) or not (0 <= int(hh) <= 24 and 0 <= int(mm) < 60):
        raise WindowError(f"{what} must be 'HH:MM', got {text!r}")
    minutes = int(hh) * 60 + int(mm)
    if minutes > 24 * 60:
        raise WindowError(f"{what} must be at most 24:00, got {text!r}")
    return minutes


def _day(value: object) -> int:
    if isinstance(value, bool):
        raise WindowError(f"unknown day {value!r}")
    if isinstance(value, int) and 1 <= value <= 7:
        return value
    if isinstance(value, str) and value.strip().lower()[:3] in _DAY_NAMES:
        return _DAY_NAMES[value.strip().lower()[:3]]
    raise WindowError(f"unknown day {value!r}; use 1..7 (Monday=1) or mon..sun")


@dataclass(frozen=True)
class TimeWindow:
    """A weekly recurring local-time interval ``[start, end)``."""

    days: frozenset[int]
    start_min: int
    end_min: int
    tz: str = DEFAULT_TZ

    @classmethod
    def parse(cls, raw: object, default_tz: str = DEFAULT_TZ) -> TimeWindow:
        """Read ``{"days": [...], "start": "HH:MM", "end": "HH:MM", "tz": ...}``."""
        if not isinstance(raw, Mapping):
            raise WindowError(f"a time window must be an object, got {raw!r}")
        unknown = set(raw) - {"days", "start", "end", "tz", "limit_kmh"}
        if unknown:
            raise WindowError(f"unknown window keys {sorted(unknown)}")
        days_raw = raw.get("days") or list(range(1, 8))
        if not isinstance(days_raw, list):
            raise WindowError(f"days must be a list, got {days_raw!r}")
        tz = raw.get("tz", default_tz)
        try:
            ZoneInfo(str(tz))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise WindowError(f"unknown time zone {tz!r}") from exc
        start, end = _minutes(raw.get("start"), "start"), _minutes(raw.get("end"), "end")
        if start == end:
            raise WindowError("start equals end; write 00:00–24:00 for a whole day")
        return cls(frozenset(_day(d) for d in days_raw), start, end, str(tz))

    def active(self, when: datetime) -> bool:
        """Whether ``when`` (aware; naive means UTC) falls inside the window."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        local = when.astimezone(ZoneInfo(self.tz))
        minute = local.hour * 60 + local.minute
        day = local.isoweekday()
        if self.start_min < self.end_min:
            return day in self.days and self.start_min <= minute < self.end_min
        yesterday = 7 if day == 1 else day - 1
        return (day in self.days and minute >= self.start_min) or (
            yesterday in self.days and minute < self.end_min
        )


def any_active(windows: tuple[TimeWindow, ...], when: datetime) -> bool:
    """True if any window is active (an empty tuple means never)."""
    return any(w.active(when) for w in windows)
