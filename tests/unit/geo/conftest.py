"""Factories for geo tests: fences and fixes drawn in metres around a point in Hangzhou."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import shapely

from config.settings import PROJECT_ROOT
from geo.fence_sets import CompiledFenceSet, compile_fence_set
from geo.plane import LocalPlane
from schemas.records import TruckFix

ORIGIN = LocalPlane(30.27, 120.15)
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Hangzhou


def lat_lon(x: float, y: float) -> tuple[float, float]:
    return ORIGIN.to_lat_lon(x, y)


def square(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    """GeoJSON polygon of a metric rectangle around ORIGIN."""
    ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    coords = []
    for x, y in ring:
        lat, lon = lat_lon(x, y)
        coords.append([lon, lat])
    return {"type": "Polygon", "coordinates": [coords]}


def line(*points: tuple[float, float]) -> dict[str, Any]:
    coords = []
    for x, y in points:
        lat, lon = lat_lon(x, y)
        coords.append([lon, lat])
    return {"type": "LineString", "coordinates": coords}


def feature(fid: str, kind: str, geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": fid,
        "properties": {"kind": kind, **props},
        "geometry": geometry,
    }


def doc(*features: dict[str, Any], crs: str = "WGS84", version: str = "1") -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "name": "test",
        "version": version,
        "crs": crs,
        "features": list(features),
    }


def fence_set(*features: dict[str, Any], **kw: Any) -> CompiledFenceSet:
    return compile_fence_set(doc(*features, **kw))


class Fixes:
    """Makes TruckFix records at (seconds after T0, x m, y m) with running ids."""

    def __init__(self, plate: str = "浙A12345", **defaults: Any) -> None:
        self.plate = plate
        self.defaults = defaults
        self.n = 0

    def __call__(self, t_s: float, x: float, y: float, **kw: Any) -> TruckFix:
        self.n += 1
        lat, lon = lat_lon(x, y)
        fields = {
            "event_id": f"{self.plate}-{self.n}",
            "event_time": T0 + timedelta(seconds=t_s),
            "plate": self.plate,
            "lat": lat,
            "lon": lon,
            **self.defaults,
            **kw,
        }
        return TruckFix(**fields)


@pytest.fixture
def fixes() -> Fixes:
    return Fixes(speed_kmh=30.0)


__all__ = [
    "ORIGIN",
    "T0",
    "Fixes",
    "doc",
    "feature",
    "fence_set",
    "lat_lon",
    "line",
    "shapely",
    "square",
]

ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]
GEOFENCES = ROOT / "config" / "geofences"
GPS = PROJECT_ROOT.parent / "shared" / "data" / "gps"
