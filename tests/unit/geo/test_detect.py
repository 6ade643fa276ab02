"""The detections on synthetic drives laid out in metres (see conftest)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from geo.detector import _copy as partial_copy
from geo.detector import fences_changed, flush, next_due, step, tick
from geo.params import GeoParams
from geo.vehicle import VehicleState
from schemas.records import Crs, TruckFix
from schemas.validation.crs import wgs84_to_gcj02
from tests.unit.geo.conftest import T0, Fixes, feature, fence_set, line, square

if TYPE_CHECKING:
    from collections.abc import Iterable

    from geo.detection import Detection
    from geo.fence_sets import CompiledFenceSet

NO_REORDER = GeoParams(reorder_fixes=0, reorder_window_s=0)


def run(
    fixes: Iterable[TruckFix],
    fs: CompiledFenceSet,
    params: GeoParams = NO_REORDER,
    state: VehicleState | None = None,
) -> tuple[VehicleState, list[Detection]]:
    out: list[Detection] = []
    for f in fixes:
        state, dets = step(state, f, fs, params=params)
        out += dets
    assert state is not None
    state, dets = flush(state, fs, params)
    return state, out + dets


def kinds(dets: list[Detection]) -> list[str]:
    return [d.kind for d in dets]


ZONE = fence_set(feature("z", "construction_site", square(0, 0, 1000, 1000)))


def test_jitter_at_a_boundary_does_not_flap(fixes: Fixes) -> None:
    # parked on the edge (x = 0): ±8 m of GPS noise, every 5 s for 10 minutes
    drive = [fixes(t, 8.0 if (t // 5) % 2 else -8.0, 500, speed_kmh=0.0) for t in range(0, 600, 5)]
    _, dets = run(drive, ZONE)
    assert [d for d in dets if d.kind.startswith("fence_")] == []


def test_deep_or_lasting_entry_and_exit_count_once(fixes: Fixes) -> None:
    drive = [
        fixes(0, -200, 500),
        fixes(10, 100, 500),
        fixes(20, 300, 500),  # in by 100 m
        fixes(30, 5, 500),
        fixes(40, -5, 500),
        fixes(50, 5, 500),  # edge jitter, still in
        fixes(60, -300, 500),
    ]
    _, dets = run(drive, ZONE)
    fence = [d for d in dets if d.kind.startswith("fence_")]
    assert kinds(fence) == ["fence_enter", "fence_exit"]
    assert fence[0].event_time == T0 + timedelta(seconds=10)
    # the 40 s fix outside was jitter (back in at 50 s): the exit is the 60 s fix
    assert fence[1].event_time == T0 + timedelta(seconds=60)
    assert fence[1].duration_s == 50.0


def test_shallow_entry_confirmed_by_time(fixes: Fixes) -> None:
    drive = [fixes(t, 5, 500, speed_kmh=0.0) for t in range(0, 50, 10)]  # 5 m inside, 40 s
    _, dets = run(drive, ZONE)
    enter = [d for d in dets if d.kind == "fence_enter"]
    assert len(enter) == 1
    assert enter[0].event_time == T0


def test_out_of_order_and_duplicate_fixes(fixes: Fixes) -> None:
    a, b, c, d = (fixes(t, -200 + 100 * i, 500) for i, t in enumerate((0, 10, 20, 30)))
    params = GeoParams(reorder_fixes=3, reorder_window_s=60)
    state, dets = run([a, c, b, b, d, a], ZONE, params)
    assert state.dropped == {"duplicate": 2}
    assert [f.id for f in state.recent] == [a.event_id, b.event_id, c.event_id, d.event_id]
    # in-order replay gives the same detections
    _, in_order = run([a, b, c, d], ZONE, params)
    assert dets == in_order
    assert kinds(dets) == ["fence_enter"]


def test_fix_older_than_the_watermark_is_stale(fixes: Fixes) -> None:
    a, b, late = fixes(0, 0, 0), fixes(10, 50, 0), fixes(5, 25, 0)
    state, _ = run([a, b, late], ZONE)
    assert state.dropped == {"stale": 1}


def test_reorder_buffer_holds_until_window_or_tick(fixes: Fixes) -> None:
    params = GeoParams(reorder_fixes=5, reorder_window_s=30)
    state, dets = step(None, fixes(0, 300, 500), ZONE, params=params)
    assert dets == []
    assert len(state.buffer) == 1
    state, dets = tick(state, T0 + timedelta(seconds=31), ZONE, params)
    assert kinds(dets) == ["fence_enter"]
    assert state.buffer == []


def test_impossible_jump_is_dropped_and_counted(fixes: Fixes) -> None:
    drive = [
        fixes(0, -500, 500),
        fixes(10, -400, 500),
        fixes(20, 500, 500),  # 900 m in 10 s = 324 km/h: a GPS glitch into the zone
        fixes(30, -300, 500),
    ]
    state, dets = run(drive, ZONE)
    assert state.dropped == {"impossible_jump": 1}
    assert dets == []


def test_consistent_jumps_reanchor(fixes: Fixes) -> None:
    # the first fix was the bad one: the following agree with each other
    drive = [fixes(0, -5000, 500), *(fixes(10 * i, 300, 500) for i in range(1, 6))]
    state, dets = run(drive, ZONE)
    assert state.dropped == {"impossible_jump": 2}
    assert "fence_enter" in kinds(dets)


SITES = fence_set(
    feature("dump", "disposal_site", square(0, 0, 200, 200)),
    feature("site", "construction_site", square(1000, 0, 1200, 200)),
)


def _stop_at(fixes: Fixes, x: float, y: float, minutes: int, loaded: bool | None) -> list[TruckFix]:
    drive = [fixes(0, x - 600, y, speed_kmh=40.0, loaded=loaded)]
    drive += [
        fixes(60 + 30 * i, x, y + (i % 3), speed_kmh=0.0, loaded=loaded) for i in range(minutes * 2)
    ]
    return drive


def test_long_loaded_stop_outside_sites_is_suspected_dumping(fixes: Fixes) -> None:
    _, dets = run(_stop_at(fixes, 500, 500, 15, loaded=True), SITES)
    dumping = [d for d in dets if d.kind == "suspected_dumping"]
    assert len(dumping) == 1  # one per stop, not one per fix
    assert dumping[0].event_time == T0 + timedelta(seconds=60)
    assert dumping[0].duration_s >= 600


def test_stop_inside_permitted_sites_or_empty_is_fine(fixes: Fixes) -> None:
    for x, y, loaded in ((100, 100, True), (1100, 100, True), (1210, 100, True), (500, 500, False)):
        _, dets = run(_stop_at(Fixes(speed_kmh=0.0), x, y, 15, loaded=loaded), SITES)
        assert "suspected_dumping" not in kinds(dets), (x, y, loaded)


def test_short_stop_is_not_dumping(fixes: Fixes) -> None:
    _, dets = run(_stop_at(fixes, 500, 500, 8, loaded=True), SITES)
    assert "suspected_dumping" not in kinds(dets)


ROUTE = fence_set(feature("r1", "route", line((0, 0), (5000, 0)), permit_ids=["P1"]))


def _drive_offset(
    fixes: Fixes, offset_m: float, seconds: int, permit: str = "P1"
) -> list[TruckFix]:
    # along the route at 36 km/h, ``offset_m`` to the side between 100 s and 100 + seconds
    return [
        fixes(
            t,
            10.0 * t,
            offset_m if 100 <= t < 100 + seconds else 0.0,
            permit_id=permit,
            speed_kmh=36.0,
        )
        for t in range(0, 400, 10)
    ]


def test_route_deviation_beyond_corridor_and_grace(fixes: Fixes) -> None:
    _, dets = run(_drive_offset(fixes, 120, 150), ROUTE)
    dev = [d for d in dets if d.kind == "route_deviation"]
    assert len(dev) == 1
    assert dev[0].fence_id == "r1"
    assert abs(dev[0].distance_m - 120) < 1.5
    assert dev[0].event_time == T0 + timedelta(seconds=100)


def test_route_tolerance_distance_time_and_permit(fixes: Fixes) -> None:
    assert "route_deviation" not in kinds(run(_drive_offset(fixes, 40, 300), ROUTE)[1])  # < 50 m
    assert "route_deviation" not in kinds(run(_drive_offset(fixes, 120, 50), ROUTE)[1])  # < 60 s
    assert "route_deviation" not in kinds(run(_drive_offset(fixes, 500, 300, "P9"), ROUTE)[1])
    wide = fence_set(
        feature("r1", "route", line((0, 0), (5000, 0)), permit_ids=["P1"], corridor_m=150)
    )
    assert "route_deviation" not in kinds(run(_drive_offset(fixes, 120, 300), wide)[1])


SCHOOL = fence_set(
    feature(
        "school",
        "forbidden_zone",
        square(0, 0, 300, 300),
        windows=[{"days": [1, 2, 3, 4, 5], "start": "07:00", "end": "08:30"}],
    ),
    feature("water", "forbidden_zone", square(1000, 0, 1300, 300)),
)


def _through(fixes: Fixes, x0: float, start_s: float) -> list[TruckFix]:
    return [fixes(start_s + 10 * i, x0 - 200 + 40 * i, 150, speed_kmh=14.0) for i in range(18)]


def test_time_window_zone_bans_only_inside_its_hours(fixes: Fixes) -> None:
    # T0 is Monday 10:00 Asia/Shanghai: outside school hours
    assert "banned_hours" not in kinds(run(_through(fixes, 0, 0), SCHOOL)[1])
    morning = -2.5 * 3600  # Monday 07:30 local
    dets = run(_through(Fixes(), 0, morning), SCHOOL)[1]
    banned = [d for d in dets if d.kind == "banned_hours"]
    assert len(banned) == 1
    assert banned[0].fence_id == "school"
    saturday = 5 * 86400 + morning
    assert "banned_hours" not in kinds(run(_through(Fixes(), 0, saturday), SCHOOL)[1])


def test_always_forbidden_zone(fixes: Fixes) -> None:
    dets = run(_through(fixes, 1000, 0), SCHOOL)[1]
    assert [d.fence_id for d in dets if d.kind == "banned_zone"] == ["water"]


def test_overspeed_one_per_episode_with_zone_and_time_limits(fixes: Fixes) -> None:
    fs = fence_set(
        feature(
            "slow",
            "speed_zone",
            square(-100, -100, 10000, 100),
            limit_kmh=40,
            limits=[{"start": "09:00", "end": "11:00", "limit_kmh": 30}],
        )
    )
    speeds = [25, 35, 36, 37, 35, 20, 20, 20, 20, 20, 35, 36]  # two episodes over 30 km/h
    drive = [fixes(10 * i, 10.0 * i * 10, 0, speed_kmh=s) for i, s in enumerate(speeds)]
    _, dets = run(drive, fs)
    over = [d for d in dets if d.kind == "overspeed"]
    assert len(over) == 2  # reported once confirmed (10 s over), then silent until it ends
    assert over[0].limit_kmh == 30
    assert over[0].max_speed_kmh == 36
    assert over[0].fence_id == "slow"
    # at 12:00 the base 40 km/h applies: no overspeed
    late = [fixes(7200 + 10 * i, 10.0 * i * 10, 0, speed_kmh=s) for i, s in enumerate(speeds)]
    assert "overspeed" not in kinds(run(late, fs)[1])


def test_fence_removal_closes_inside_state(fixes: Fixes) -> None:
    both = fence_set(
        feature("a", "disposal_site", square(0, 0, 500, 500)),
        feature("b", "construction_site", square(0, 0, 400, 400)),
    )
    only_b = fence_set(feature("b", "construction_site", square(0, 0, 400, 400)), version="2")
    state, dets = run([fixes(0, 200, 200), fixes(10, 210, 200)], both)
    assert sorted(state.fences) == ["a", "b"]
    now = T0 + timedelta(minutes=5)
    new_state, exits = fences_changed(state, both, only_b, now)
    assert [(d.kind, d.fence_id, d.fence_kind) for d in exits] == [
        ("fence_exit", "a", "disposal_site")
    ]
    assert exits[0].event_time == now
    assert exits[0].duration_s == 300
    assert sorted(new_state.fences) == ["b"]
    assert sorted(state.fences) == ["a", "b"]


def test_silent_after_no_fixes_reported_once(fixes: Fixes) -> None:
    state, _ = run([fixes(0, 0, 0)], ZONE)
    state, dets = tick(state, T0 + timedelta(minutes=5), ZONE)
    assert dets == []
    state, dets = tick(state, T0 + timedelta(minutes=11), ZONE)
    assert kinds(dets) == ["silent"]
    assert dets[0].duration_s == 600
    assert tick(state, T0 + timedelta(minutes=20), ZONE)[1] == []
    state, again = run([fixes(1500, 0, 0)], ZONE, state=state)
    assert "silent" not in kinds(again)  # already reported by the tick
    assert kinds(tick(state, T0 + timedelta(minutes=40), ZONE)[1]) == ["silent"]


def test_silence_ended_by_a_fix_is_reported_as_a_tick_would(fixes: Fixes) -> None:
    state, _ = run([fixes(0, 0, 0)], ZONE)
    _, by_tick = tick(state, T0 + timedelta(minutes=11), ZONE)
    _, by_fix = run([fixes(1500, 0, 0)], ZONE, state=state)
    silent = [d for d in by_fix if d.kind == "silent"]
    assert silent
    assert [d.model_dump() for d in silent] == [d.model_dump() for d in by_tick]


def test_state_round_trips_and_step_is_pure(fixes: Fixes) -> None:
    drive = _stop_at(fixes, 500, 500, 15, loaded=True)
    _, straight = run(drive, SITES, GeoParams())
    state: VehicleState | None = None
    resumed: list[Detection] = []
    for f in drive:
        before = state.to_dict() if state is not None else None
        new, dets = step(state, f, SITES)
        assert (state.to_dict() if state is not None else None) == before
        state = VehicleState.from_dict(new.to_dict())  # as if through a Faust table
        resumed += dets
    assert state is not None
    resumed += flush(state, SITES)[1]
    assert resumed == straight
    assert "suspected_dumping" in kinds(resumed)


def test_gcj02_fix_is_converted(fixes: Fixes) -> None:
    inside = fixes(0, 300, 500)
    glat, glon = wgs84_to_gcj02(inside.lat, inside.lon)
    gfix = inside.model_copy(update={"lat": glat, "lon": glon, "crs": Crs.gcj02})
    state, _ = run([gfix], ZONE)
    assert state.last is not None
    assert abs(state.last.lat - inside.lat) < 1e-6
    assert "z" in state.fences


def test_detection_ids_are_deterministic(fixes: Fixes) -> None:
    drive = _through(fixes, 1000, 0)
    ids1 = [d.event_id for d in run(drive, SCHOOL)[1]]
    ids2 = [d.event_id for d in run(drive, SCHOOL)[1]]
    assert ids1 == ids2
    assert len(set(ids1)) == len(ids1)


def _round_trip(state: VehicleState) -> VehicleState:
    """How ``_copy`` copied a state before 2026-12-03: the whole of it, through pydantic."""
    return VehicleState.model_validate(state.model_dump())


def test_copy_is_a_deep_copy_where_step_writes(fixes: Fixes, monkeypatch: Any) -> None:
    """Step after step over stops, routes, banned zones, speed zones and repeated fixes, the
    partial copy decides exactly what the whole copy did, and never changes the state it is
    given (an undone event's value must be intact: streams/state.py)."""
    import geo.detector as detect

    speed = fence_set(
        feature("slow", "speed_zone", square(-100, -100, 10000, 100), limit_kmh=40),
        feature("z", "construction_site", square(0, 0, 1000, 1000)),
    )
    runs = [
        (_stop_at(fixes, 500, 500, 15, loaded=True), SITES),
        (_drive_offset(Fixes(), 120, 150), ROUTE),
        (_through(Fixes(), 0, -2.5 * 3600) + _through(Fixes(), 1000, 0), SCHOOL),
        ([Fixes()(10 * i, 30.0 * i, 0.0, speed_kmh=70.0 + i % 5) for i in range(60)], speed),
    ]
    for params in (NO_REORDER, GeoParams()):
        for fixes_, fs in runs:
            state: VehicleState | None = None
            for f in fixes_ + fixes_[5:9]:  # duplicates and stale fixes too
                before = state.model_dump() if state is not None else None
                monkeypatch.setattr(detect, "_copy", _round_trip)
                want = step(state, f, fs, params=params)
                monkeypatch.setattr(detect, "_copy", partial_copy)
                got = step(state, f, fs, params=params)
                assert got[0].model_dump() == want[0].model_dump()
                assert got[1] == want[1]
                if state is not None:
                    assert state.model_dump() == before  # the given state is untouched
                state = got[0]


def test_next_due_is_the_first_time_a_tick_can_change_the_state(fixes: Fixes) -> None:
    """A timer skips a truck until :func:`next_due` (streams/timers.py): a tick any earlier must
    change nothing, and one at that time must (release a held fix, or report the silence)."""
    params = GeoParams(reorder_fixes=5, reorder_window_s=30)
    state: VehicleState | None = None
    checked = 0
    for t, x in [(0, 0), (10, 80), (25, 200), (70, 500), (900, 600), (960, 700)]:
        state, _ = step(state, fixes(t, x, 500), ZONE, params=params)
        while (due := next_due(state, params)) is not None:
            for early in (due - timedelta(seconds=5), due - timedelta(microseconds=1)):
                after, dets = tick(state, early, ZONE, params)
                assert (after, dets) == (state, [])
            after, dets = tick(state, due + timedelta(microseconds=1), ZONE, params)
            assert after != state or dets
            checked += 1
            state = after
    assert checked >= 4  # held fixes released one by one, then the silence
    assert state is not None
    assert next_due(state, params) is None
    assert state.silent_since == state.last.t  # type: ignore[union-attr]
