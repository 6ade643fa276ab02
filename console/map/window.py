"""What the map remembers: a bounded window of truck fixes and of map-worthy warnings.

The console is a long-running process fed by two endless topics, so every collection here
has a cap: at most ``max_trucks`` plates (the least recently heard of goes first), at most
``max_fixes`` fixes per plate and none older than ``max_age`` before the plate's newest fix
(event time, so a replay of last year's data draws like a live one), and at most
``max_warnings`` warnings (oldest change first out).

>>> from datetime import UTC, datetime, timedelta
>>> w = MapWindow(max_fixes=2)
>>> t = datetime(2026, 12, 1, tzinfo=UTC)
>>> for k in range(3):
...     w.add_fix(Fix(plate="浙A1", at=t + timedelta(minutes=k), lat=30.0 + k, lon=120.0))
>>> [f.lat for f in w.track("浙A1")]
[31.0, 32.0]
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from collections.abc import Iterator

    from schemas.records import Alert


class Fix(BaseModel):
    """One truck position, as much of a ``TruckFix`` as the map draws."""

    model_config = ConfigDict(frozen=True)

    plate: str
    at: datetime
    lat: float
    lon: float
    speed_kmh: float | None = None
    loaded: bool | None = None
    region_code: str | None = None


@dataclass
class MapWindow:
    """Recent fixes per plate and recent warnings (trucks and special equipment)."""

    max_trucks: int = 500
    max_fixes: int = 240
    max_age: timedelta = timedelta(hours=2)
    max_warnings: int = 1000
    _tracks: OrderedDict[str, deque[Fix]] = field(default_factory=OrderedDict)
    _warnings: OrderedDict[str, Alert] = field(default_factory=OrderedDict)

    def add_fix(self, fix: Fix) -> None:
        """Keep ``fix`` (in time order within its plate), dropping what falls out of bounds."""
        track = self._tracks.pop(fix.plate, None) or deque(maxlen=self.max_fixes)
        if track and fix.at < track[-1].at:  # late fix: insert in order (rare, small deque)
            ordered = sorted([*track, fix], key=lambda f: f.at)
            track = deque(ordered[-self.max_fixes :], maxlen=self.max_fixes)
        else:
            track.append(fix)
        newest = track[-1].at
        while track and newest - track[0].at > self.max_age:
            track.popleft()
        self._tracks[fix.plate] = track
        while len(self._tracks) > self.max_trucks:
            self._tracks.popitem(last=False)

    def add_warning(self, alert: Alert) -> None:
        """Keep a warning's latest record (one per warning epoch), newest change last."""
        self._warnings.pop(alert.alert_id, None)
        self._warnings[alert.alert_id] = alert
        while len(self._warnings) > self.max_warnings:
            self._warnings.popitem(last=False)

    def plates(self) -> list[str]:
        """The plates with a fix in the window, the one whose last fix is oldest first."""
        return list(self._tracks)

    def track(self, plate: str) -> list[Fix]:
        """A plate's fixes in time order (a copy: the feed keeps adding while a page is
        drawn).
        """
        return list(self._tracks.get(plate, ()))

    def warnings(self) -> Iterator[Alert]:
        """The warnings kept, oldest change first (iterating a copy, for the same reason as
        ``track``).
        """
        return iter(list(self._warnings.values()))

    def position_at(self, plate: str, at: datetime) -> Fix | None:
        """The plate's fix nearest in time to ``at`` (where a detection happened), or None."""
        track = self._tracks.get(plate)
        if not track:
            return None
        return min(track, key=lambda f: abs((f.at - at).total_seconds()))
