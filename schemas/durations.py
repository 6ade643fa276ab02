"""Durations and times as rule packs write them: ``"30s"``, ``"10m"``, ``"2h"``, ``"7d"``.

Windows run on event time, so every instant is kept as float seconds since the epoch (UTC):
that is JSON-serialisable, cheap to compare, and survives a Faust changelog round trip.
The notification settings (``loop/notify``) read the same notation, so it
lives here in the bottom layer rather than in ``rules/``.

>>> parse_duration("10m"), parse_duration("7d"), parse_duration("1h30m")
(600, 604800, 5400)
>>> parse_time("2024-05-06T10:00:00+08:00")
1714960800.0
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from schemas.errors import RiskLoopError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+)([smhdw])", re.ASCII)
_WHOLE = re.compile(r"(?:\d+[smhdw])+")
_DEADLINE = re.compile(r"\d+(?:m|h|d|wd)")


class BadDuration(RiskLoopError):
    """A duration or time in a pack or example could not be read."""


MAX_DURATION = 100 * 366 * 86400
"""The longest duration a pack may write (100 years): packs arrive from the control topic, and
``"+99999999999999d"`` added to an event time overflows ``datetime`` in every worker."""
_MAX_DIGITS = 12


def parse_duration(text: str) -> int:
    """Seconds in ``text`` (units s, m, h, d, w; parts may be combined: ``"1h30m"``).

    >>> parse_duration("99999999999999d")
    Traceback (most recent call last):
    schemas.durations.BadDuration: duration '99999999999999d' is longer than 100 years
    """
    compact = str(text).strip().replace(" ", "")
    if len(compact) > 64 or not _WHOLE.fullmatch(compact):
        raise BadDuration(f"{text!r:.80} is not a duration; write e.g. '30s', '10m', '2h', '7d'")
    parts = _PART.findall(compact)
    if any(len(n.lstrip("0")) > _MAX_DIGITS for n, _ in parts):
        raise BadDuration(f"duration {text!r:.80} is longer than 100 years")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds > MAX_DURATION:
        raise BadDuration(f"duration {text!r:.80} is longer than 100 years")
    return seconds


def is_deadline(text: str) -> bool:
    """Whether ``text`` is a task deadline as settings write them (``30m``, ``4h``, ``3wd``)."""
    return bool(_DEADLINE.fullmatch(text))


def parse_time(value: str | datetime | float | int) -> float:
    """Epoch seconds of an ISO-8601 string or datetime; naive times are taken as UTC."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise BadDuration(f"{value!r} is not an ISO-8601 time") from exc
    if not isinstance(value, datetime):
        raise BadDuration(f"{value!r} is not a time")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def to_datetime(epoch: float) -> datetime:
    """The UTC datetime of epoch seconds (what :class:`~schemas.hits.RuleHit` carries)."""
    return datetime.fromtimestamp(epoch, tz=UTC)
