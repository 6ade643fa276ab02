"""Per-vehicle geo state: everything one truck's next fix needs, as plain JSON.

The worker keeps it in a table keyed by plate, so it must survive a worker restart and a
rebalance: :meth:`VehicleState.to_dict` gives JSON-safe data and :meth:`VehicleState.from_dict`
reads it back. Everything here is bounded (reorder buffer, recent fixes, remembered ids,
evidence lists), so a chatty terminal cannot grow a table row without limit.

>>> s = VehicleState(plate="浙A12345")
>>> VehicleState.from_dict(s.to_dict()) == s
True
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _State(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class Fix(_State):
    """A compact copy of an accepted :class:`schemas.records.TruckFix`, always WGS-84."""

    id: str
    t: datetime
    lat: float
    lon: float
    speed: float | None = None
    """Speed reported by the terminal (km/h), if any."""
    loaded: bool | None = None
    permit: str | None = None
    uscc: str | None = None
    region: str | None = None


class Membership(_State):
    """The truck is (confirmed) inside a fence since ``entered_at``."""

    kind: str
    entered_at: datetime
    outside_since: datetime | None = None
    """First fix outside while still counted inside (exit not yet confirmed)."""
    dwell_reported: bool = False
    evidence: list[str] = Field(default_factory=list)


class Episode(_State):
    """A condition that lasts (overspeed, deviation, banned presence); one detection each."""

    start: datetime
    fence_id: str = ""
    fence_kind: str = ""
    lat: float
    lon: float
    max_speed: float = 0.0
    limit: float = 0.0
    max_distance: float = 0.0
    clear_since: datetime | None = None
    moving_seen: bool = False
    reported: bool = False
    evidence: list[str] = Field(default_factory=list)


class Motion(_State):
    """Moving or stopped, with the candidate stop being measured."""

    state: Literal["unknown", "moving", "stopped"] = "unknown"
    slow_since: datetime | None = None
    anchor_lat: float | None = None
    anchor_lon: float | None = None
    loaded: bool = False
    """The truck was loaded when this stop began or during it."""
    dumping_reported: bool = False
    evidence: list[str] = Field(default_factory=list)


class VehicleState(_State):
    """One truck's geo state (see module docstring); treat as a value, never share one."""

    plate: str
    buffer: list[Fix] = Field(default_factory=list)
    """Reorder buffer: fixes received but not yet processed, sorted by event time."""
    watermark: datetime | None = None
    """Event time of the last processed fix; anything not newer is stale."""
    last: Fix | None = None
    recent: list[Fix] = Field(default_factory=list)
    seen_ids: list[str] = Field(default_factory=list)
    jump_run: int = 0
    motion: Motion = Field(default_factory=Motion)
    fences: dict[str, Membership] = Field(default_factory=dict)
    pending_enter: dict[str, datetime] = Field(default_factory=dict)
    """Fences the truck is inside of, but not yet long or deep enough to count."""
    overspeed: Episode | None = None
    deviation: Episode | None = None
    banned: dict[str, Episode] = Field(default_factory=dict)
    silent_since: datetime | None = None
    """Start of the silence already reported (the last fix's time), so it is reported once."""
    dropped: dict[str, int] = Field(default_factory=dict)
    """Dropped fixes by reason: duplicate, stale, impossible_jump."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict for a Faust table (datetimes as ISO strings)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | VehicleState) -> VehicleState:
        """Inverse of :meth:`to_dict`; a state held as the object already is returned as is
        (the worker keeps the object between fixes: streams/scoring.py)."""
        return data if isinstance(data, VehicleState) else cls.model_validate(data)

    def count_drop(self, reason: str) -> None:
        """Count one dropped fix under ``reason`` in the truck's own state, so what a feed
        loses (duplicates, stale fixes, impossible jumps) stays visible per truck.
        """
        self.dropped[reason] = self.dropped.get(reason, 0) + 1


def bounded_append(items: list[str], item: str, limit: int) -> None:
    """Append and keep the first id (the episode's start) plus the newest ``limit - 1``."""
    items.append(item)
    if len(items) > limit:
        del items[1 : len(items) - limit + 1]
