"""Entity profile (一企一档): everything that happened to one enterprise, and a risk score.

One :class:`EntityProfile` per USCC (the Faust table key) counts inspections, complaints,
warnings, tasks and dispositions, keeps a bounded recent history, and carries a risk score that
decays exponentially: an event of weight ``w`` that happened ``t`` days ago contributes
``w · 0.5^(t / half_life_days)``. Only the score and the instant it refers to are stored, so an
update costs O(1) and the score at any later time is one multiplication. A passed inspection
weighs negative, so an enterprise can earn its way down, but the score never drops below 0:
a long clean record should not bank credit against a future failure.

The class (A low … D high) comes from thresholds on the score and sets the enterprise's weight
in the "双随机" random draw (``loop.sampling``).

The profile also carries the enterprise's latest name and address (issue #17: people read a
USCC as nothing), as the inspection results and complaints naming it gave them
(``loop.subject``). Each is kept from the newest event by event time that said it, so a late
(replayed, backfilled) event does not undo a newer name; an event that says neither changes
neither. Profiles stored before these fields load with them empty.

It keeps, the same way, the inspection-risk model's score of the enterprise's newest scored
inspection (``model_risk``, issue #18): the model and the class then weigh the draw together.

>>> from datetime import datetime, timezone
>>> from loop.loop_config import ProfileConfig
>>> cfg = ProfileConfig(half_life_days=10)
>>> t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
>>> p = record(None, "91330106MA27XXXX0X", "inspection_fail", t0, "insp-1", config=cfg)
>>> p.score, p.risk_class
(2.0, 'B')
>>> round(score_at(p, datetime(2024, 1, 11, tzinfo=timezone.utc), cfg), 3)
1.0
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from loop.loop_config import ProfileConfig
    from schemas.records import DispositionResult, InspectionOutcome, Level

CATEGORIES = ("inspection", "complaint", "warning", "task", "disposition")
_DAY = 86400.0


class ProfileEntry(BaseModel):
    """One line of an enterprise's history."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    kind: str
    ref: str
    weight: float


class EntityProfile(BaseModel):
    """The file of one enterprise (一企一档): the Faust table value keyed by USCC."""

    model_config = ConfigDict(extra="forbid")

    uscc: str
    region_code: str | None = None
    entity_name: str | None = None
    """The latest name an inspection or complaint gave; None until one did."""
    entity_address: str | None = None
    """The latest address an inspection or complaint gave; None until one did."""
    named_at: datetime | None = None
    """Event time of the newest event that gave the name or address (orders late events)."""
    counts: dict[str, int] = Field(default_factory=dict)
    recent: list[ProfileEntry] = Field(default_factory=list)
    score: float = 0.0
    score_at: datetime | None = None
    risk_class: str = "A"
    model_risk: float | None = None
    """The inspection-risk model's P(critical finding) at the enterprise's newest scored
    inspection (by event time); None until a warmed-up model scored one. Weighs the draw."""
    model_risk_at: datetime | None = None


def inspection_kind(outcome: InspectionOutcome) -> str:
    """The profile kind an inspection outcome counts as: keys ``counts`` and config weights."""
    return {"pass": "inspection_pass", "fail": "inspection_fail", "rectify": "inspection_rectify"}[
        outcome.value
    ]


def warning_kind(level: Level) -> str:
    """The profile kind a warning of ``level`` counts as: each level weighs differently."""
    return f"warning_{level.value}"


def disposition_kind(result: DispositionResult) -> str:
    """The profile kind a disposition result counts as: confirmed and false alarms weigh apart."""
    return f"disposition_{result.value}"


def decay(days: float, config: ProfileConfig) -> float:
    """Share of a weight left after ``days``."""
    return float(0.5 ** (days / config.half_life_days))


def score_at(profile: EntityProfile, now: datetime, config: ProfileConfig) -> float:
    """The decayed score at ``now`` (never earlier than the last event it has seen)."""
    if profile.score_at is None:
        return profile.score
    days = max(0.0, (now - profile.score_at).total_seconds() / _DAY)
    return profile.score * decay(days, config)


def classify(score: float, config: ProfileConfig) -> str:
    """A/B/C/D by the thresholds (lowest score of B, C and D)."""
    t = config.thresholds
    if score >= t["D"]:
        return "D"
    if score >= t["C"]:
        return "C"
    return "B" if score >= t["B"] else "A"


def record(
    profile: EntityProfile | None,
    uscc: str,
    kind: str,
    at: datetime,
    ref: str,
    *,
    config: ProfileConfig,
    region_code: str | None = None,
    entity_name: str | None = None,
    entity_address: str | None = None,
    model_risk: float | None = None,
) -> EntityProfile:
    """Add one event (``kind`` such as ``"complaint"``, ``"warning_red"``) to the profile.

    ``ref`` is the event's id; an event already in the recent history is not counted twice
    (replays). Events may arrive out of order: a late one is decayed to the profile's time.
    ``entity_name`` / ``entity_address``: what the event says of the enterprise (cleaned, as
    ``loop.subject.subject_of`` gives them); each replaces
    the profile's unless an event later in event time already gave one. ``model_risk``: an
    inspection's score by the inspection model, kept the same way (newest by event time).
    """
    base = profile if profile is not None else EntityProfile(uscc=uscc)
    if any(e.ref == ref and e.kind == kind for e in base.recent):
        return base
    weight = config.weights.get(kind, 0.0)
    # a new profile, ``base`` untouched; only the containers changed below are copied (the
    # entries are never changed in place): a deep copy was 3 % of a worker's CPU (bench/RESULTS.md)
    new = base.model_copy(update={"counts": dict(base.counts), "recent": list(base.recent)})
    new.region_code = new.region_code or region_code
    _name(new, at, entity_name, entity_address)
    if model_risk is not None and (new.model_risk_at is None or at >= new.model_risk_at):
        new.model_risk, new.model_risk_at = model_risk, at
    category = kind.split("_", 1)[0]
    new.counts[category] = new.counts.get(category, 0) + 1
    entry = ProfileEntry(at=at, kind=kind, ref=ref, weight=weight)
    new.recent = sorted([*new.recent, entry], key=lambda e: (e.at, e.ref))[-config.max_recent :]
    if new.score_at is None or at >= new.score_at:
        new.score = max(0.0, score_at(new, at, config) + weight)
        new.score_at = at
    else:
        days = (new.score_at - at).total_seconds() / _DAY
        new.score = max(0.0, new.score + weight * decay(days, config))
    new.risk_class = classify(new.score, config)
    return new


def _name(profile: EntityProfile, at: datetime, name: str | None, address: str | None) -> None:
    """Take the event's name and address (in place, on the copy) unless older than the last."""
    if name is None and address is None:
        return
    newer = profile.named_at is None or at >= profile.named_at
    if newer:
        profile.named_at = at
    if name is not None and (newer or profile.entity_name is None):
        profile.entity_name = name
    if address is not None and (newer or profile.entity_address is None):
        profile.entity_address = address


def reasons(
    profile: EntityProfile, now: datetime, config: ProfileConfig, n: int = 5
) -> list[tuple[ProfileEntry, float]]:
    """Why the score is what it is: the recent entries' weights decayed to ``now``, largest
    first (the profile keeps a bounded history, so older events are in the score only).

    >>> from datetime import timezone
    >>> from loop.loop_config import ProfileConfig
    >>> cfg = ProfileConfig(half_life_days=10)
    >>> t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> p = record(None, "91330106MA27XXXX0X", "inspection_fail", t0, "insp-1", config=cfg)
    >>> [(e.ref, round(w, 2)) for e, w in reasons(p, datetime(2024, 1, 11, tzinfo=timezone.utc), cfg)]
    [('insp-1', 1.0)]
    """
    weighted = [
        (e, e.weight * decay(max(0.0, (now - e.at).total_seconds() / _DAY), config))
        for e in profile.recent
    ]
    return sorted(weighted, key=lambda pair: abs(pair[1]), reverse=True)[:n]
