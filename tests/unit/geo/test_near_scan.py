"""A small fence set answers ``near`` by scanning bounding boxes (issue #16): the very fences,
in the same order, that the STRtree gives, edges included."""

from __future__ import annotations

import random

from shapely.geometry import box

from bench.geo_lookup import synthetic_fences
from config.settings import PROJECT_ROOT
from geo.fence import Fence
from geo.index import SCANNED, FenceIndex
from geo.plane import degrees_margin
from streams.runtime import shipped_fence_sets


def _by_tree(index: FenceIndex, lat: float, lon: float, margin: float) -> list[str]:
    boxes, index._boxes = index._boxes, None
    try:
        return [f.id for f in index.near(lat, lon, margin)]
    finally:
        index._boxes = boxes


def _same(index: FenceIndex, lat: float, lon: float, margin: float) -> list[str]:
    assert index._boxes is not None, "this index does not scan"
    scanned = [f.id for f in index.near(lat, lon, margin)]
    assert scanned == _by_tree(index, lat, lon, margin), (lat, lon, margin)
    return scanned


def test_shipped_fence_sets_scan_as_the_tree_finds() -> None:
    rng = random.Random(5)
    found = 0
    for fences in shipped_fence_sets(PROJECT_ROOT / "config" / "geofences"):
        index = fences.index
        for fence in index.areas:
            minx, miny, maxx, maxy = fence.geometry.bounds
            for _ in range(60):
                lat = rng.uniform(miny - 0.02, maxy + 0.02)
                lon = rng.uniform(minx - 0.02, maxx + 0.02)
                found += len(_same(index, lat, lon, rng.choice([0.0, 30.0, 200.0, 1500.0])))
    assert found > 100


def test_boxes_that_only_touch_are_near_as_in_the_tree() -> None:
    lat, lon, margin = 30.25, 120.15, 100.0
    dlat, dlon = degrees_margin(lat, margin)
    x0, y0, x1, y1 = lon - dlon, lat - dlat, lon + dlon, lat + dlat
    touching = [
        box(x1, lat, x1 + 0.01, lat + 0.01),  # left edge on the query's right edge
        box(x0 - 0.01, lat, x0, lat + 0.01),
        box(lon, y1, lon + 0.01, y1 + 0.01),
        box(lon, y0 - 0.01, lon + 0.01, y0),
        box(x1, y1, x1 + 0.01, y1 + 0.01),  # corner to corner
    ]
    apart = [box(x1 + 1e-9, lat, x1 + 0.01, lat + 0.01)]
    index = FenceIndex(
        [Fence.build(f"f{i}", "forbidden_zone", g) for i, g in enumerate(touching + apart)]
    )
    assert _same(index, lat, lon, margin) == ["f0", "f1", "f2", "f3", "f4"]


def test_a_large_set_keeps_the_tree() -> None:
    fences = synthetic_fences(SCANNED + 1)
    assert FenceIndex(fences)._boxes is None
    index = FenceIndex(fences[:SCANNED])
    lat, lon = 30.27, 120.15
    for margin in (100.0, 2000.0, 20000.0):
        _same(index, lat, lon, margin)
