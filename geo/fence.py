"""One compiled fence: its WGS-84 shape, its own metric plane, and what it means.

A fence is built once, when its set is compiled, and then only read: every per-fix question
(how deep inside am I, how far from the route, what is the limit right now) is answered from
precomputed, prepared geometry, so a lookup costs microseconds.

>>> from shapely.geometry import box
>>> f = Fence.build("s1", "disposal_site", box(116.0, 39.0, 116.01, 39.01))
>>> round(f.depth_m(39.005, 116.005))  # centre of a ~860 m × 1110 m box: ~430 m from the edge
433
>>> f.depth_m(39.02, 116.005) < 0  # outside → negative
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import shapely

from geo.plane import LocalPlane

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from shapely.geometry.base import BaseGeometry

    from geo.timewindows import TimeWindow

FenceKind = Literal["disposal_site", "construction_site", "forbidden_zone", "route", "speed_zone"]
KINDS: frozenset[str] = frozenset(
    {"disposal_site", "construction_site", "forbidden_zone", "route", "speed_zone"}
)
AREA_KINDS: frozenset[str] = KINDS - {"route"}
"""Kinds that are areas a truck is inside or outside of (a route is a corridor instead)."""
PERMITTED_SITE_KINDS: frozenset[str] = frozenset({"disposal_site", "construction_site"})
"""Where a loaded truck may stop: 消纳场 and construction sites."""

DEFAULT_CORRIDOR_M = 50.0


@dataclass(frozen=True, eq=False)
class Fence:
    """A fence in WGS-84 plus the metric copy used for every distance."""

    id: str
    kind: str
    geometry: BaseGeometry
    """(lon, lat) degrees, WGS-84, prepared for point-in-polygon tests."""
    plane: LocalPlane
    metric: BaseGeometry
    """The same shape in metres on :attr:`plane`."""
    boundary_m: BaseGeometry
    name: str = ""
    corridor_m: float = 0.0
    limit_kmh: float | None = None
    windows: tuple[TimeWindow, ...] = ()
    timed_limits: tuple[tuple[TimeWindow, float], ...] = ()
    permit_ids: frozenset[str] = frozenset()
    properties: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def build(cls, fence_id: str, kind: str, geometry: BaseGeometry, **kw: Any) -> Fence:
        """Project ``geometry`` (WGS-84 lon/lat) onto a plane centred on it and prepare both."""
        c = geometry.centroid
        plane = LocalPlane(c.y, c.x)
        metric = plane.project(geometry)
        boundary = metric.boundary if kind != "route" else metric
        for g in (geometry, metric, boundary):
            shapely.prepare(g)
        return cls(fence_id, kind, geometry, plane, metric, boundary, **kw)

    def depth_m(self, lat: float, lon: float) -> float:
        """Signed distance to the edge in metres: positive inside, negative outside.

        Hysteresis needs the sign and the size: "inside by more than 15 m" is a depth.
        """
        x, y = self.plane.to_xy(lat, lon)
        p = shapely.Point(x, y)
        d = float(shapely.distance(p, self.boundary_m))
        return d if shapely.contains_xy(self.metric, x, y) else -d

    def distance_m(self, lat: float, lon: float) -> float:
        """Distance in metres to the shape (0 inside an area; to the centreline for a route)."""
        x, y = self.plane.to_xy(lat, lon)
        return float(shapely.distance(shapely.Point(x, y), self.metric))

    def limit_at(self, when: datetime) -> float | None:
        """The speed limit in force at ``when``: the lowest active timed limit, else the base."""
        active = [lim for w, lim in self.timed_limits if w.active(when)]
        return min(active) if active else self.limit_kmh

    def banned_at(self, when: datetime) -> bool:
        """Whether a forbidden zone forbids entry at ``when`` (no windows means always)."""
        if self.kind != "forbidden_zone":
            return False
        return not self.windows or any(w.active(when) for w in self.windows)
