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

import difflib
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from schemas.errors import ConfigError
from schemas.records import Alert, AlertState
from schemas.sources import RULE_SOURCES

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

_LIVE = {
    AlertState.new,
    AlertState.updated,
    AlertState.escalated,
    AlertState.deescalated,
    AlertState.suppressed,
    AlertState.silenced,
}

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
    safety: bool = False
    """Also covers safety alarms (困人, 超压, 食物中毒); needs ``approved_by``."""
    approved_by: str | None = None
    """The second person who approved silencing safety alarms (not the creator)."""

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
        if self.safety and not (self.approved_by or "").strip():
            raise ValueError(
                "silencing safety alarms (困人, 超压, 食物中毒) needs a second person's approval "
                "(approved_by)"
            )
        if self.safety and (self.approved_by or "").strip() == self.creator.strip():
            raise ValueError("approved_by must be a second person, not the creator")
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

    def matches(
        self,
        *,
        source: str,
        entity: str,
        item_code: str,
        region_code: str | None,
        safety: bool = False,
    ) -> bool:
        """Whether every set matcher agrees with the warning's attributes; a safety alarm only
        when this silence says it covers safety alarms (an elevator's maintenance window must
        not swallow its 困人 alarm)."""
        if safety and not self.safety:
            return False
        if self.source is not None and self.source != source:
            return False
        if self.entity is not None and self.entity != entity:
            return False
        if self.item_code is not None and self.item_code != item_code:
            return False
        return self.region_prefix is None or (region_code or "").startswith(self.region_prefix)


def create(data: dict[str, object], now: datetime, max_duration: timedelta) -> Silence:
    """Validate a new silence from a request; errors are ``ConfigError`` a person can act on.

    A source no warning comes from is refused (``--source equipments`` silenced nothing and
    looked as if it did).
    """
    source = data.get("source")
    if source is not None and source not in RULE_SOURCES:
        near = difflib.get_close_matches(str(source), RULE_SOURCES, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise ConfigError(
            f"silence rejected: unknown source {source!r} (one of {', '.join(RULE_SOURCES)}){hint}"
        )
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
    safety: bool = False,
) -> Silence | None:
    """The active silence covering a warning (earliest-starting, then by id, for stability)."""
    hits = [
        s
        for s in silences
        if s.active(now)
        and s.matches(
            source=source,
            entity=entity,
            item_code=item_code,
            region_code=region_code,
            safety=safety,
        )
    ]
    return min(hits, key=lambda s: (s.starts_at, s.silence_id)) if hits else None


def prune(silences: Iterable[Silence], now: datetime) -> list[Silence]:
    """Drop expired silences (the worker can tombstone them on the compacted topic)."""
    return [s for s in silences if s.end > now]


def preview(
    silence: Silence, alerts: Sequence[Alert], now: datetime
) -> tuple[list[Alert], list[Alert]]:
    """What a silence would hit among the live warnings ``alerts`` (latest record of each), and
    the safety alarms its matchers name but it would not cover — shown before it applies, like
    ``amtool alert query`` with the silence's matchers.

    >>> t0 = datetime(2026, 6, 1)
    >>> s = Silence(silence_id="s1", entity="E1", reason="维保", creator="zhang",
    ...             starts_at=t0, ends_at=t0 + timedelta(hours=4))
    >>> a = Alert(alert_id="f.1", fingerprint="f", state="new", level="red", source="equipment",
    ...           entity="E1", item_code="YJ-TZSB-001", title="电梯困人", first_seen=t0,
    ...           last_seen=t0, safety=True)
    >>> hit, spared = preview(s, [a], t0)
    >>> [x.alert_id for x in hit], [x.alert_id for x in spared]
    ([], ['f.1'])
    """
    hit: list[Alert] = []
    spared: list[Alert] = []
    window = silence.model_copy(update={"starts_at": min(silence.starts_at, now)})
    for a in alerts:
        if a.shadow or a.state not in _LIVE:
            continue
        if not window.matches(
            source=a.source, entity=a.entity, item_code=a.item_code, region_code=a.region_code
        ):
            continue
        (spared if a.safety and not window.safety else hit).append(a)
    return hit, spared
