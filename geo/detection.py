"""What the geo core reports: one flat, frozen record per detection.

Flat on purpose: the rules helper writes CEL conditions straight against these fields
(``d.kind == "overspeed" && d.max_speed_kmh > d.limit_kmh * 1.2``). ``event_id`` is derived
from plate, kind, fence and the start of the episode, so a replayed or redelivered fix can
never produce a second warning for the same episode.

>>> from datetime import datetime, timezone
>>> t = datetime(2026, 1, 26, 16, 0, tzinfo=timezone.utc)
>>> detection_id("沪A12345", "overspeed", "", t) == detection_id("沪A12345", "overspeed", "", t)
True
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DetectionKind = Literal[
    "fence_enter",
    "fence_exit",
    "fence_dwell",
    "overspeed",
    "suspected_dumping",
    "route_deviation",
    "banned_zone",
    "banned_hours",
    "silent",
]


class Detection(BaseModel):
    """A geo finding about one truck; the alert layer grades and routes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str
    event_time: datetime
    plate: str
    kind: DetectionKind
    fence_id: str = ""
    fence_kind: str = ""
    duration_s: float = 0.0
    max_speed_kmh: float = 0.0
    limit_kmh: float = 0.0
    distance_m: float = 0.0
    lat: float
    lon: float
    company_uscc: str | None = None
    region_code: str | None = None
    evidence: list[str] = Field(default_factory=list)


def detection_id(plate: str, kind: str, fence_id: str, episode_start: datetime) -> str:
    """Deterministic id of one episode's detection (fence id separates simultaneous ones)."""
    key = f"{plate}|{kind}|{fence_id}|{episode_start.isoformat()}"
    return "geo-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
