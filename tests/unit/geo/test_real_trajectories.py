"""Replays of the real GPS samples against the fence sets derived from them."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

import pytest

from bench.trajectories import fixes_from_rows, read_gps_csv
from geo.derive import dumps, geolife_beijing, liverpool_route14
from geo.fence_sets import CompiledFenceSet, compile_fence_set, load_fence_set
from geo.plane import LocalPlane
from geo.trajectory_run import replay
from tests.unit.geo.conftest import GEOFENCES, GPS

if TYPE_CHECKING:
    from geo.detection import Detection
    from schemas.records import TruckFix

LIVERPOOL = GPS / "liverpool-bus-route14.csv"
GEOLIFE = GPS / "geolife-sample.csv.gz"
pytestmark = pytest.mark.skipif(not LIVERPOOL.exists(), reason="shared GPS data not mounted")


@cache
def liverpool_rows() -> tuple[dict[str, str], ...]:
    return tuple(read_gps_csv(LIVERPOOL))


@cache
def route14() -> CompiledFenceSet:
    return load_fence_set(GEOFENCES / "liverpool_route14.geojson")


def trip(trip_id: str, **kw: object) -> list[TruckFix]:
    rows = [r for r in liverpool_rows() if r["trip_id"] == trip_id]
    return fixes_from_rows(rows, permit_id="AMSY-14", **kw)  # type: ignore[arg-type]


def of_kind(dets: list[Detection], kind: str) -> list[Detection]:
    return [d for d in dets if d.kind == kind]


def test_buses_on_route_14_raise_no_route_deviation_except_one_real_detour() -> None:
    fixes = fixes_from_rows(liverpool_rows(), permit_id="AMSY-14")
    states, dets = replay(fixes, route14())
    dev = [(d.plate, d.event_time.isoformat()) for d in of_kind(dets, "route_deviation")]
    # trip 1103 leaves Queen Square by another street: 12 fixes, up to 330 m off, for ~5 min
    assert dev == [("4722", "2026-01-26T16:44:05+00:00")]
    assert of_kind(dets, "suspected_dumping") == []  # no load flag: never assumed loaded
    assert all(not s.dropped for s in states.values())  # clean data: nothing dropped
    enters = Counter(d.fence_id for d in of_kind(dets, "fence_enter"))
    assert enters["petherick-road"] >= 8  # most outbound trips reach the terminus


def test_perturbed_trip_deviates() -> None:
    fixes = trip("1105")
    n = len(fixes)
    plane = LocalPlane(fixes[0].lat, fixes[0].lon)
    moved = []
    for i, f in enumerate(fixes):
        if n // 3 <= i < n // 2:  # shift the middle sixth ~280 m north-west, across the route
            x, y = plane.to_xy(f.lat, f.lon)
            lat, lon = plane.to_lat_lon(x - 200, y + 200)
            moved.append(f.model_copy(update={"lat": lat, "lon": lon}))
        else:
            moved.append(f)
    assert of_kind(replay(fixes, route14())[1], "route_deviation") == []
    dev = of_kind(replay(moved, route14())[1], "route_deviation")
    assert len(dev) == 1
    assert dev[0].distance_m > 150
    assert dev[0].event_time == moved[n // 3].event_time


def _with_stop(fixes: list[TruckFix], at: int, minutes: float) -> list[TruckFix]:
    """Hold the vehicle at fix ``at`` for ``minutes`` (fixes every 30 s), then carry on."""
    pause = timedelta(minutes=minutes)
    base = fixes[at]
    held = [
        base.model_copy(
            update={
                "event_id": f"{base.event_id}-h{k}",
                "speed_kmh": 0.0,
                "event_time": base.event_time + timedelta(seconds=30 * k),
            }
        )
        for k in range(1, int(minutes * 2))
    ]
    later = [f.model_copy(update={"event_time": f.event_time + pause}) for f in fixes[at + 1 :]]
    return [*fixes[: at + 1], *held, *later]


def test_long_loaded_stop_on_the_way_is_suspected_dumping() -> None:
    fixes = trip("1097", loaded=True)
    mid = len(fixes) // 2
    dets = replay(_with_stop(fixes, mid, 15), route14())[1]
    dumping = of_kind(dets, "suspected_dumping")
    assert len(dumping) == 1
    assert dumping[0].plate == "4842"
    assert dumping[0].duration_s >= 600
    assert abs(dumping[0].lat - fixes[mid].lat) < 1e-3


def test_long_loaded_stop_at_the_disposal_site_is_fine() -> None:
    fixes = trip("1097", loaded=True)
    site = route14().get("petherick-road")
    assert site is not None
    end = max(i for i, f in enumerate(fixes) if site.depth_m(f.lat, f.lon) > 0)
    dets = replay(_with_stop(fixes, end, 20), route14())[1]
    assert of_kind(dets, "suspected_dumping") == []
    assert "petherick-road" in {d.fence_id for d in of_kind(dets, "fence_enter")}


def test_geolife_stays_fall_inside_the_gcj02_fences() -> None:
    fs = load_fence_set(GEOFENCES / "geolife_beijing.geojson")
    assert fs.crs == "GCJ02"
    rows = [r for r in read_gps_csv(GEOLIFE) if r["vehicle_id"] == "001"][:20_000]
    fixes = fixes_from_rows(rows)
    states, dets = replay(fixes, fs)
    entered = Counter(d.fence_id for d in of_kind(dets, "fence_enter"))
    # the person's frequent stays are where the fences were drawn: after GCJ02 → WGS84 the
    # fixes land in them. Read naively as WGS84, the same drawing sits ~500 m off.
    naive_doc = json.loads((GEOFENCES / "geolife_beijing.geojson").read_text("utf-8"))
    naive_doc["crs"] = "WGS84"
    naive = Counter(
        d.fence_id for d in of_kind(replay(fixes, compile_fence_set(naive_doc))[1], "fence_enter")
    )
    stays = ("dump-2", "dump-3", "water-4", "curfew-5")
    assert all(entered[f] > 0 for f in stays)
    assert sum(entered[f] for f in stays) > 2 * sum(naive[f] for f in stays)
    assert naive["water-4"] == 0
    assert 0 < states["001"].dropped.get("impossible_jump", 0) < 20  # a few real GPS glitches


def test_committed_fence_sets_are_what_derive_produces() -> None:
    lp = liverpool_route14(liverpool_rows())
    assert (GEOFENCES / "liverpool_route14.geojson").read_text("utf-8") == dumps(lp)
    gl = geolife_beijing(read_gps_csv(GEOLIFE))
    assert (GEOFENCES / "geolife_beijing.geojson").read_text("utf-8") == dumps(gl)
