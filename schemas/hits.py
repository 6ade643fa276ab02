"""What a rule evaluation produces: a hit, with the provenance a risk-centre officer reads.

A contract between ``rules/`` (which makes hits) and ``loop/`` (which turns them into warnings
and tasks), so it lives here in the bottom layer: ``loop/`` reads it without importing the rule
engine, and the engine can change without reaching the warning stage.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.records import Level, Reason


class TaskTemplate(BaseModel):
    """How a hit becomes a verification task: who gets it, what they check, what they prove."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    department: str
    checklist: list[str] = Field(default_factory=list)
    required_evidence: list[str] = Field(default_factory=list)
    sign_deadline: str | None = None
    dispose_deadline: str | None = None


class RuleHit(BaseModel):
    """One rule firing on one event (or window), consumed by the warning stage (``loop``).

    ``values`` holds the field values that made the condition true; ``group_key`` is what makes
    two hits the same warning (with source, entity and item code it forms the fingerprint).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    pack: str
    pack_version: str
    pack_hash: str
    rule_id: str
    title: str
    item_code: str
    legal_basis: str = ""
    level: Level
    escalate_to: Level | None = None  # the rule's cap on escalation by repetition
    safety: bool = False  # a safety alarm: silences need an explicit, approved flag
    score: float
    mode: str  # "active" | "shadow"
    source: str
    entity: str
    uscc: str | None = None
    region_code: str | None = None
    group_key: str
    event_id: str
    event_time: datetime
    values: dict[str, Any] = Field(default_factory=dict)
    task: TaskTemplate | None = None
    chained: bool = False
    """Fired by a sequence rule on a chain of events (投诉后检查不合格): ``event_id`` is the
    chain's last event by event time, but the hit comes with whichever event completed the chain
    on arrival. Such a warning joins that event's case and never leads it (``loop.warnings``)."""
    based_on: list[Reason] = Field(default_factory=list)
    """Provenance of the event the rule read, when it was derived: a geo detection's fence set
    (kind ``fence``: name, version, content hash). The warning records it beside the rule."""
