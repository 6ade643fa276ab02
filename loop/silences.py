"""Silences: an officer says "we know about this, stop pushing it" — for a while, on record.

A silence matches warnings by any subset of source, entity, item code and region prefix
(GB/T 2260, so ``"3301"`` covers every county of Hangzhou). A silenced warning is not dropped:
it is recorded with ``state=silenced`` on ``alerts`` and makes no task. Every silence names
its creator and reason (DOMAIN.md, Security) and has an expiry; an expired silence simply
stops matching, and the next ``warnings.tick`` un-silences what it covered.

Ending a silence early (:func:`expire`) is on record too: the silence is published again with
``expired_by`` and ``expired_at`` set (not deleted), its planned ``ends_at`` kept, so the
control topic and ``riskloop silence list`` say who ended it and when.

>>> from datetime import datetime, timezone
>>> t0 = datetime(2024, 6, 1, tzinfo=timezone.utc)
>>> s = Silence(silence_id="s1", region_prefix="3301", reason="flood drill", creator="zhang",
...             starts_at=t0, ends_at=datetime(2024, 6, 2, tzinfo=timezone.utc))
>>> s.matches(source="complaints", entity="X", item_code="", region_code="330106")
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from schemas.errors import ConfigError

_REGION_PREFIX = re.compile(r"\d{2}(\d{2}){0,2}", re.ASCII)  # not "１１" or "١١"


class Silence(BaseModel):
    """One silence; ``None`` matchers match anything, at least one matcher must be set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    silence_id: str
    source: str | None = None
    entity: str | None = None
    item_code: str | None = None
    region_prefix: str | None = None
    reason: str
    creator: str
    starts_at: datetime
    ends_at: datetime
    expired_by: str | None = None
    expired_at: datetime | None = None

    @model_validator(mode="after")
    def _check(self) -> Silence:
        if not self.silence_id.strip():
            raise ValueError("silence_id must not be empty")
        if not self.reason.strip() or not self.creator.strip():
            raise ValueError("a silence needs a reason and the creator's name (全程留痕)")
        if not any((self.source, self.entity, self.item_code, self.region_prefix)):
            raise ValueError(
                "a silence needs at least one matcher (source, entity, item_code or "
                "region_prefix); silencing everything is not allowed"
            )
        if self.region_prefix is not None and not _REGION_PREFIX.fullmatch(self.region_prefix):
            raise ValueError(
                f"region_prefix {self.region_prefix!r} must be 2, 4 or 6 digits of a GB/T 2260 code"
            )
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if (self.expired_by is None) != (self.expired_at is None):
            raise ValueError("an expired silence names who expired it and when")
        if self.expired_by is not None and not self.expired_by.strip():
            raise ValueError("an expired silence names who expired it (全程留痕)")
        return self

    @property
    def end(self) -> datetime:
        """When it stops matching: the planned end, or when someone expired it."""
        return min(self.ends_at, self.expired_at) if self.expired_at else self.ends_at

    def active(self, now: datetime) -> bool:
        """In force at ``now`` (start inclusive, end exclusive)."""
        return self.starts_at <= now < self.end

    def matches(self, *, source: str, entity: str, item_code: str, region_code: str | None) -> bool:
        """Whether every set matcher agrees with the warning's attributes."""
        if self.source is not None and self.source != source:
            return False
        if self.entity is not None and self.entity != entity:
            return False
        if self.item_code is not None and self.item_code != item_code:
            return False
        return self.region_prefix is None or (region_code or "").startswith(self.region_prefix)


def create(data: dict[str, object], now: datetime, max_duration: timedelta) -> Silence:
    """Validate a new silence from a request; errors are ``ConfigError`` a person can act on."""
    try:
        silence = Silence.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'silence'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"silence rejected: {problems}") from exc
    if silence.ends_at <= now:
        raise ConfigError(f"silence {silence.silence_id} rejected: it has already expired")
    return check_limits(silence, max_duration)


def check_limits(silence: Silence, max_duration: timedelta) -> Silence:
    """The API's limits, for a silence from anywhere: the control topic is read by every worker,
    so one published past ``riskloop silence`` must meet the same ``max_silence``.

    >>> t0 = datetime(2024, 6, 1)
    >>> s = Silence(silence_id="s1", entity="E", reason="drill", creator="zhang",
    ...             starts_at=t0, ends_at=datetime(9999, 1, 1))
    >>> check_limits(s, timedelta(days=30))
    Traceback (most recent call last):
    schemas.errors.ConfigError: silence s1 rejected: longer than the allowed 30 days, 0:00:00; create a new one when it ends if the reason still holds
    """
    if silence.ends_at - silence.starts_at > max_duration:
        raise ConfigError(
            f"silence {silence.silence_id} rejected: longer than the allowed {max_duration}; "
            "create a new one when it ends if the reason still holds"
        )
    return silence


def expire(silence: Silence, actor: str, now: datetime) -> Silence:
    """The silence ended at ``now`` by ``actor``; one that has already ended is an error.

    >>> t0 = datetime(2024, 6, 1)
    >>> s = Silence(silence_id="s1", entity="E", reason="drill", creator="zhang",
    ...             starts_at=t0, ends_at=t0 + timedelta(hours=4))
    >>> e = expire(s, "li", t0 + timedelta(hours=1))
    >>> e.expired_by, e.active(t0 + timedelta(hours=2)), e.ends_at == s.ends_at
    ('li', False, True)
    """
    if not actor.strip():
        raise ConfigError(f"expiring silence {silence.silence_id} needs who does it (--by)")
    if silence.end <= now:
        by = f" by {silence.expired_by}" if silence.expired_by else ""
        raise ConfigError(
            f"silence {silence.silence_id} already ended{by} at {silence.end:%Y-%m-%d %H:%M} UTC"
        )
    return silence.model_copy(update={"expired_by": actor, "expired_at": now})


def matching(
    silences: Iterable[Silence],
    now: datetime,
    *,
    source: str,
    entity: str,
    item_code: str,
    region_code: str | None,
) -> Silence | None:
    """The active silence covering a warning (earliest-starting, then by id, for stability)."""
    hits = [
        s
        for s in silences
        if s.active(now)
        and s.matches(source=source, entity=entity, item_code=item_code, region_code=region_code)
    ]
    return min(hits, key=lambda s: (s.starts_at, s.silence_id)) if hits else None


def prune(silences: Iterable[Silence], now: datetime) -> list[Silence]:
    """Drop expired silences (the lead can tombstone them on the compacted topic)."""
    return [s for s in silences if s.end > now]
