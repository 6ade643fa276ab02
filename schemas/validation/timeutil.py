"""Event times: every timestamp becomes an aware UTC datetime at millisecond precision.

Sources disagree: some send UTC with ``Z``, some an offset, many a naive local time. A naive
time is read in the zone the source declares (Chinese systems: Asia/Shanghai), never in the
worker's zone. Precision is cut to milliseconds because that is what Avro's timestamp-millis
keeps; a record must read the same from JSON and Avro.

>>> to_utc("2024-05-01T08:00:00")  # naive → Asia/Shanghai
datetime.datetime(2024, 5, 1, 0, 0, tzinfo=datetime.timezone.utc)
>>> to_utc("2024-05-01T08:00:00.123456Z").isoformat()
'2024-05-01T08:00:00.123000+00:00'
>>> to_utc("2024-05-01", "America/Chicago").isoformat()
'2024-05-01T05:00:00+00:00'
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schemas.errors import ValidationFailed

DEFAULT_ZONE = "Asia/Shanghai"


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """A time zone by IANA name; ``ValidationFailed('bad_time')`` if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed("bad_time", f"unknown time zone {name!r}") from exc


def parse_time(value: object, field: str = "event_time") -> datetime:
    """An ISO-8601 string or a datetime → datetime (possibly naive). Numbers are refused.

    Epoch numbers are ambiguous (seconds or milliseconds?), so sources must send ISO-8601.
    """
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValidationFailed(
            "wrong_type", f"expected an ISO-8601 string, got {type(value).__name__}", field
        )
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationFailed("bad_time", f"not an ISO-8601 time: {value[:40]!r}", field) from exc


def to_utc(value: object, zone_name: str = DEFAULT_ZONE, field: str = "event_time") -> datetime:
    """Parse, localise a naive time in ``zone_name``, convert to UTC, cut to milliseconds."""
    t = parse_time(value, field)
    try:
        if t.tzinfo is None or t.tzinfo.utcoffset(t) is None:
            t = t.replace(tzinfo=zone(zone_name))
        t = t.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ValidationFailed("bad_time", f"{t} cannot be converted to UTC", field) from exc
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def check_age(
    t: datetime,
    now: datetime,
    *,
    max_future_skew_seconds: float,
    max_event_age_days: float,
    field: str = "event_time",
) -> None:
    """Refuse events from the future (beyond clock skew) or older than the retention horizon."""
    if t - now > timedelta(seconds=max_future_skew_seconds):
        raise ValidationFailed(
            "future_event",
            f"{t.isoformat()} is more than {max_future_skew_seconds:g} s after now "
            f"({now.isoformat()}); check the sender's clock and time zone",
            field,
        )
    if now - t > timedelta(days=max_event_age_days):
        raise ValidationFailed(
            "stale_event",
            f"{t.isoformat()} is more than {max_event_age_days:g} days before now ({now.isoformat()})",
            field,
        )
