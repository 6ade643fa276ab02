"""Micro-benchmark of the spatial lookup, for the benchmark harness (``bench/micro.py``).

A city's fence sets reach ten thousand polygons (schools, water sources, sites); each fix
must still cost microseconds. The synthetic set is deterministic (seeded): small squares of
30–300 m scattered over a 40 km × 40 km city, points drawn over the same area.

>>> bench_lookup(n_fences=200, n_points=200) > 0
True
"""

from __future__ import annotations

import time

import numpy as np
import shapely

from geo.fence import Fence
from geo.index import FenceIndex
from geo.plane import degrees_margin


def synthetic_fences(
    n_fences: int, *, seed: int = 7, lat0: float = 30.27, lon0: float = 120.15
) -> list[Fence]:
    """``n_fences`` square fences around (lat0, lon0) (Hangzhou by default), kinds mixed."""
    rng = np.random.default_rng(seed)
    dlat, dlon = degrees_margin(lat0, 20_000.0)
    kinds = ("forbidden_zone", "construction_site", "disposal_site", "speed_zone")
    fences = []
    for i in range(n_fences):
        lat = lat0 + rng.uniform(-dlat, dlat)
        lon = lon0 + rng.uniform(-dlon, dlon)
        hy, hx = degrees_margin(lat, float(rng.uniform(15.0, 150.0)))
        kind = kinds[i % len(kinds)]
        extra = {"limit_kmh": 40.0} if kind == "speed_zone" else {}
        geom = shapely.box(lon - hx, lat - hy, lon + hx, lat + hy)
        fences.append(Fence.build(f"f{i}", kind, geom, **extra))
    return fences


def bench_lookup(n_fences: int = 10_000, n_points: int = 20_000, *, seed: int = 7) -> float:
    """Microseconds per ``FenceIndex.containing`` call against ``n_fences`` fences."""
    index = FenceIndex(synthetic_fences(n_fences, seed=seed))
    rng = np.random.default_rng(seed + 1)
    dlat, dlon = degrees_margin(30.27, 20_000.0)
    lats = (30.27 + rng.uniform(-dlat, dlat, n_points)).tolist()
    lons = (120.15 + rng.uniform(-dlon, dlon, n_points)).tolist()
    containing = index.containing
    t0 = time.perf_counter()
    for lat, lon in zip(lats, lons, strict=True):
        containing(lat, lon)
    return (time.perf_counter() - t0) / n_points * 1e6
