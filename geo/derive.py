"""Derive the shipped demo fence sets from the real GPS samples, reproducibly.

There is no public muck-truck fence data, so the demo sets are drawn from the trajectories we
replay in tests: that way the fences sit where the vehicles really go. Both functions are pure
given the rows (no clock, no randomness), and ``tests/unit/geo/test_derive.py`` proves that
the committed ``config/geofences/*.geojson`` equal what they produce. The recipe is described
in ``config/geofences/README.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import LineString, mapping
from shapely.ops import substring

from geo.plane import LocalPlane, distance_m
from geo.trajectory_run import parse_ts
from schemas.validation.crs import wgs84_to_gcj02

Row = Mapping[str, str]

WEEKDAYS = [1, 2, 3, 4, 5]


def circle(lat: float, lon: float, radius_m: float, digits: int = 7) -> list[list[list[float]]]:
    """GeoJSON Polygon coordinates of a 32-gon of ``radius_m`` around a point (WGS-84)."""
    plane = LocalPlane(lat, lon)
    ring = plane.unproject(shapely.Point(0.0, 0.0).buffer(radius_m, quad_segs=8)).exterior
    return [[[round(x, digits), round(y, digits)] for x, y in ring.coords]]


def _feature(fid: str, props: dict[str, Any], geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "id": fid, "properties": props, "geometry": geometry}


def _poly(coords: list[list[list[float]]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": coords}


# ---------------------------------------------------------------- Liverpool route 14


def liverpool_route14(rows: Sequence[Row]) -> dict[str, Any]:
    """Fence set for Liverpool bus route 14 outbound (WGS-84, Europe/London).

    The longest trip (most fixes; lowest trip id on a tie) becomes the approved route, its
    corridor 50 m; circles around its first and last fixes become a construction site (the bus
    station) and a disposal site (the terminus); a school zone on the route's midpoint is
    banned 16:00–17:00 on weekdays; a reservoir 800 m off the midpoint is always banned; a
    20 mph (32 km/h) speed zone covers 300 m around the route's first quarter.
    """
    trips: dict[str, list[Row]] = {}
    for r in rows:
        if r.get("destination") == "Petherick_Road":
            trips.setdefault(r["trip_id"], []).append(r)
    trip_id = min(trips, key=lambda t: (-len(trips[t]), t))
    pts = sorted(trips[trip_id], key=lambda r: parse_ts(r["ts"]))
    coords = [(float(r["lon"]), float(r["lat"])) for r in pts]
    mid_lat = sum(c[1] for c in coords) / len(coords)
    mid_lon = sum(c[0] for c in coords) / len(coords)
    plane = LocalPlane(mid_lat, mid_lon)
    line_m = plane.project(LineString(coords)).simplify(5.0)
    route = LineString([(round(x, 6), round(y, 6)) for x, y in plane.unproject(line_m).coords])
    mid = route.interpolate(0.5, normalized=True)
    # 800 m to the left of the route at its midpoint
    a = plane.project(route.interpolate(0.49, normalized=True))
    b = plane.project(route.interpolate(0.51, normalized=True))
    dx, dy = b.x - a.x, b.y - a.y
    norm = (dx * dx + dy * dy) ** 0.5
    mx, my = plane.to_xy(mid.y, mid.x)
    res_lat, res_lon = plane.to_lat_lon(mx - dy / norm * 800.0, my + dx / norm * 800.0)
    quarter = substring(route, 0.0, 0.25, normalized=True)
    zone = plane.unproject(plane.project(quarter).buffer(300.0, quad_segs=4).simplify(5.0))
    zone_coords = [[[round(x, 6), round(y, 6)] for x, y in zone.exterior.coords]]
    first, last = coords[0], coords[-1]
    return {
        "type": "FeatureCollection",
        "name": "liverpool-route14",
        "version": "2026-01-26.1",
        "crs": "WGS84",
        "tz": "Europe/London",
        "source": f"derived by geo.derive.liverpool_route14 from trip {trip_id}",
        "features": [
            _feature(
                "route14-outbound",
                {
                    "kind": "route",
                    "name": "Route 14 outbound",
                    "corridor_m": 50,
                    "permit_ids": ["AMSY-14"],
                },
                mapping(route),
            ),
            _feature(
                "queen-square",
                {"kind": "construction_site", "name": "Queen Square Bus Station"},
                _poly(circle(first[1], first[0], 150.0)),
            ),
            _feature(
                "petherick-road",
                {"kind": "disposal_site", "name": "Petherick Road terminus"},
                _poly(circle(last[1], last[0], 150.0)),
            ),
            _feature(
                "school-run",
                {
                    "kind": "forbidden_zone",
                    "name": "School zone on the route",
                    "windows": [{"days": WEEKDAYS, "start": "16:00", "end": "17:00"}],
                },
                _poly(circle(mid.y, mid.x, 120.0)),
            ),
            _feature(
                "reservoir",
                {"kind": "forbidden_zone", "name": "Reservoir protection zone (off route)"},
                _poly(circle(res_lat, res_lon, 200.0)),
            ),
            _feature(
                "centre-20mph",
                {"kind": "speed_zone", "name": "City centre 20 mph", "limit_kmh": 32},
                _poly(zone_coords),
            ),
        ],
    }


# ---------------------------------------------------------------- GeoLife Beijing

BEIJING = (39.6, 40.3, 115.9, 116.8)  # lat min, lat max, lon min, lon max


def stay_points(
    rows: Sequence[Row], *, radius_m: float = 200.0, min_stay_s: float = 1200.0
) -> list[tuple[float, float]]:
    """Stay points (Li et al. 2008, the GeoLife paper): within ``radius_m`` for ``min_stay_s``."""
    by_user: dict[str, list[tuple[float, float, float]]] = {}
    for r in rows:
        lat, lon = float(r["lat"]), float(r["lon"])
        t = parse_ts(r["ts"]).timestamp()
        by_user.setdefault(r["vehicle_id"], []).append((t, lat, lon))
    stays: list[tuple[float, float]] = []
    for user in sorted(by_user):
        pts = sorted(by_user[user])
        i = 0
        while i < len(pts):
            j = i + 1
            while (
                j < len(pts) and distance_m(pts[i][1], pts[i][2], pts[j][1], pts[j][2]) <= radius_m
            ):
                j += 1
            if pts[j - 1][0] - pts[i][0] >= min_stay_s:
                seg = pts[i:j]
                stays.append((sum(p[1] for p in seg) / len(seg), sum(p[2] for p in seg) / len(seg)))
                i = j
            else:
                i += 1
    return stays


def stay_clusters(
    stays: Sequence[tuple[float, float]],
    *,
    join_m: float = 300.0,
    bbox: tuple[float, ...] = BEIJING,
) -> list[tuple[float, float, int]]:
    """Greedy clusters of stay points inside ``bbox``: (lat, lon, stays), most visited first."""
    clusters: list[list[tuple[float, float]]] = []
    for lat, lon in stays:
        if not (bbox[0] <= lat <= bbox[1] and bbox[2] <= lon <= bbox[3]):
            continue
        for c in clusters:
            if distance_m(c[0][0], c[0][1], lat, lon) <= join_m:
                c.append((lat, lon))
                break
        else:
            clusters.append([(lat, lon)])
    out = [(sum(p[0] for p in c) / len(c), sum(p[1] for p in c) / len(c), len(c)) for c in clusters]
    return sorted(out, key=lambda c: (-c[2], c[0], c[1]))


def geolife_beijing(rows: Sequence[Row]) -> dict[str, Any]:
    """Fence set around the most frequent GeoLife stay clusters in Beijing, drawn in GCJ-02.

    Declared GCJ02 (as a Chinese map would give it) so that compiling it exercises the
    conversion back to WGS-84. Top cluster: a construction site with a 30 km/h speed zone of
    1 km around it; 2nd and 3rd: disposal sites; 4th: an always-forbidden zone (water source);
    5th: a night-curfew zone (22:00–06:00 Asia/Shanghai).
    """
    top = stay_clusters(stay_points(rows))[:5]
    plan: list[tuple[str, dict[str, Any]]] = [
        ("site-1", {"kind": "construction_site", "name": "Stay cluster 1 (construction site)"}),
        ("dump-2", {"kind": "disposal_site", "name": "Stay cluster 2 (消纳场)"}),
        ("dump-3", {"kind": "disposal_site", "name": "Stay cluster 3 (消纳场)"}),
        ("water-4", {"kind": "forbidden_zone", "name": "Stay cluster 4 (water source)"}),
        (
            "curfew-5",
            {
                "kind": "forbidden_zone",
                "name": "Stay cluster 5 (night curfew)",
                "windows": [{"start": "22:00", "end": "06:00"}],
            },
        ),
    ]
    features = []
    for (fid, props), (lat, lon, n) in zip(plan, top, strict=False):
        features.append(_feature(fid, {**props, "stays": n}, _poly(_gcj(circle(lat, lon, 150.0)))))
    lat, lon, _ = top[0]
    features.append(
        _feature(
            "site-1-30kmh",
            {"kind": "speed_zone", "name": "30 km/h around cluster 1", "limit_kmh": 30},
            _poly(_gcj(circle(lat, lon, 1000.0))),
        )
    )
    return {
        "type": "FeatureCollection",
        "name": "geolife-beijing",
        "version": "2008-10.1",
        "crs": "GCJ02",
        "tz": "Asia/Shanghai",
        "source": "derived by geo.derive.geolife_beijing from geolife-sample.csv.gz",
        "features": features,
    }


def _gcj(coords: list[list[list[float]]]) -> list[list[list[float]]]:
    out = []
    for ring in coords:
        conv = [wgs84_to_gcj02(lat, lon) for lon, lat in ring]
        out.append([[round(lon, 7), round(lat, 7)] for lat, lon in conv])
    return out


def dumps(doc: Mapping[str, Any]) -> str:
    """The canonical text we commit: stable key order, UTF-8, one feature per line block."""
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def write_fence_set(doc: Mapping[str, Any], path: str | Path) -> None:
    """Write a derived set (the only writer; run from a Python prompt, see the README)."""
    Path(path).write_text(dumps(doc), encoding="utf-8")
