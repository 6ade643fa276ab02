"""Spatial lookup over a compiled fence set: an STRtree of prepared WGS-84 geometries.

A city publishes thousands of fences (every school, water source, site); a worker sees
thousands of fixes a second. The tree narrows a fix to the handful of fences whose bounding
box holds it, then one vectorised ``contains_xy`` over prepared geometries settles which
really contain it: microseconds per fix (see :func:`bench.geo_lookup.bench_lookup`).

>>> from shapely.geometry import box
>>> from geo.fence import Fence
>>> idx = FenceIndex([Fence.build("a", "forbidden_zone", box(0, 0, 1, 1)),
...                   Fence.build("b", "speed_zone", box(0.5, 0.5, 2, 2), limit_kmh=40.0)])
>>> sorted(f.id for f in idx.containing(0.75, 0.75))
['a', 'b']
>>> [f.id for f in idx.containing(1.5, 1.5)]
['b']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import shapely
from shapely import STRtree

from geo.fence import AREA_KINDS, Fence
from geo.plane import degrees_margin

if TYPE_CHECKING:
    from collections.abc import Sequence

SCANNED = 64
"""Fence sets of at most this many areas answer :meth:`FenceIndex.near` by scanning their
bounding boxes in Python: below that, building the query box and asking the STRtree cost more
than the scan (~13 against ~2 µs for 6 fences, twice a fix; bench/RESULTS.md, 2026-12-03)."""


class FenceIndex:
    """Area fences in an STRtree; route corridors grouped by the permits they approve."""

    def __init__(self, fences: Sequence[Fence]) -> None:
        self.areas: tuple[Fence, ...] = tuple(f for f in fences if f.kind in AREA_KINDS)
        self._geoms = np.array([f.geometry for f in self.areas], dtype=object)
        self._tree = STRtree(self._geoms)
        self._boxes: list[tuple[float, float, float, float]] | None = (
            [tuple(b) for b in shapely.bounds(self._geoms).tolist()]
            if len(self.areas) <= SCANNED
            else None
        )
        routes: dict[str, list[Fence]] = {}
        for f in fences:
            if f.kind == "route":
                for permit in sorted(f.permit_ids):
                    routes.setdefault(permit, []).append(f)
        self._routes = {k: tuple(v) for k, v in routes.items()}

    def __len__(self) -> int:
        return len(self.areas)

    def containing(self, lat: float, lon: float) -> list[Fence]:
        """Area fences that contain the point (strictly; a point on an edge is outside)."""
        if not self.areas:
            return []
        cand = self._tree.query(shapely.Point(lon, lat))
        if len(cand) == 0:
            return []
        hits = cand[shapely.contains_xy(self._geoms[cand], lon, lat)]
        return [self.areas[i] for i in hits]

    def near(self, lat: float, lon: float, margin_m: float) -> list[Fence]:
        """Area fences whose bounding box comes within ``margin_m`` of the point.

        A superset of the fences the point is inside of or close to; the caller measures
        the exact signed distance (:meth:`Fence.depth_m`) only for these.
        """
        if not self.areas:
            return []
        dlat, dlon = degrees_margin(lat, margin_m)
        if self._boxes is not None:  # the tree's own test: the two boxes meet, edges included
            x0, y0, x1, y1 = lon - dlon, lat - dlat, lon + dlon, lat + dlat
            return [
                self.areas[i]
                for i, (minx, miny, maxx, maxy) in enumerate(self._boxes)
                if minx <= x1 and maxx >= x0 and miny <= y1 and maxy >= y0
            ]
        cand = self._tree.query(shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat))
        return [self.areas[i] for i in sorted(cand)]

    def routes_for(self, permit_id: str | None) -> tuple[Fence, ...]:
        """Approved route corridors of a permit (a route lists them in ``permit_ids``)."""
        if not permit_id:
            return ()
        return self._routes.get(permit_id, ())
