"""Metric accuracy of the local planes and speed of the spatial index."""

from __future__ import annotations

import math
from typing import Any

import pytest
import shapely

from bench.geo_lookup import synthetic_fences
from geo.fence import Fence
from geo.index import FenceIndex
from geo.plane import LocalPlane, distance_m


def _vincenty_free_reference(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine on the mean sphere: itself ~0.5 % off the ellipsoid, enough to check ~1 %."""
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


@pytest.mark.parametrize("lat", [0.0, 22.5, 30.27, 39.9, 53.4])
def test_local_distances_within_one_percent(lat: float) -> None:
    for dlat, dlon in ((0.01, 0.0), (0.0, 0.01), (0.05, 0.05), (-0.1, 0.2)):
        ref = _vincenty_free_reference(lat, 116.0, lat + dlat, 116.0 + dlon)
        assert distance_m(lat, 116.0, lat + dlat, 116.0 + dlon) == pytest.approx(ref, rel=0.01)


def test_known_lengths() -> None:
    # WGS-84: 1° of latitude at 45° = 111,132 m; 1° of longitude at the equator = 111,319 m
    assert distance_m(44.5, 0.0, 45.5, 0.0) == pytest.approx(111_132, rel=1e-3)
    assert distance_m(0.0, 0.0, 0.0, 1.0) == pytest.approx(111_319, rel=1e-4)


def test_fence_distances_are_metric_far_from_the_equator() -> None:
    plane = LocalPlane(53.4, -2.9)
    square = plane.unproject(shapely.box(0, 0, 1000, 1000))
    f = Fence.build("sq", "disposal_site", square)
    lat, lon = plane.to_lat_lon(500, 1100)  # 100 m north of the square
    assert f.depth_m(lat, lon) == pytest.approx(-100, rel=0.01)
    lat, lon = plane.to_lat_lon(1050, 500)  # 50 m east: in degrees this would be 1.7× off
    assert f.depth_m(lat, lon) == pytest.approx(-50, rel=0.01)
    assert f.depth_m(*plane.to_lat_lon(500, 480)) == pytest.approx(480, rel=0.01)


def test_index_matches_brute_force() -> None:
    fences = synthetic_fences(500, seed=3)
    idx = FenceIndex(fences)
    for i in range(200):
        lat, lon = 30.27 + (i % 20 - 10) * 0.017, 120.15 + (i // 20 - 5) * 0.035
        brute = {f.id for f in fences if f.geometry.contains(shapely.Point(lon, lat))}
        assert {f.id for f in idx.containing(lat, lon)} == brute
    centre = fences[0].geometry.centroid
    assert fences[0] in idx.containing(centre.y, centre.x)


def test_a_lookup_tests_a_few_fences_not_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """What keeps a lookup at microseconds with 10,000 fences: the tree hands the exact
    point-in-polygon test only the few fences whose boxes hold the point. Counted, not timed
    (speed is the benchmark's: ``geofence_lookup_us_10k_fences`` in ``bench/micro.py``)."""
    import geo.index

    fences = synthetic_fences(10_000, seed=7)
    idx = FenceIndex(fences)
    tested: list[int] = []
    exact = geo.index.shapely.contains_xy

    def counting(geoms: Any, x: float, y: float) -> Any:
        tested.append(len(geoms))
        return exact(geoms, x, y)

    monkeypatch.setattr(geo.index.shapely, "contains_xy", counting)
    for i in range(500):
        lat, lon = 30.27 + (i % 25 - 12) * 0.013, 120.15 + (i // 25 - 10) * 0.021
        idx.containing(lat, lon)
    assert tested, "no lookup reached the exact test: the points miss every fence"
    assert sum(tested) / 500 < 20  # of 10,000: the index prunes
