"""The geo detections as pure functions: state and a fix in, new state and detections out.

``step`` is what the Faust agent calls per fix, ``tick`` what a timer calls per vehicle (it
releases held-back fixes and reports silence), ``fences_changed`` what a hot-load calls so
that trucks inside a removed fence get their exit. None of them touches Kafka, a clock or the
input state: the same calls serve the worker, the CLI (``riskloop geo map``) and the tests.

Order of work for one fix: drop duplicates and stale fixes → hold it in the reorder buffer →
release the oldest fixes in event-time order → for each released fix: drop impossible jumps,
then update fences (with hysteresis), banned zones and hours, overspeed, motion and dumping,
route corridor.

Event times: every detection carries the time its episode began (enter, overspeed, stop,
deviation, banned presence, silence) except ``fence_exit`` (when the truck left) and
``fence_dwell`` (when the dwell limit was reached); its ``event_id`` always derives from the
episode's start, so a replay yields the same ids.
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from geo.detection import Detection, DetectionKind, detection_id
from geo.fence import PERMITTED_SITE_KINDS, Fence
from geo.params import GeoParams
from geo.plane import distance_m
from geo.vehicle import Episode, Fix, Membership, Motion, VehicleState, bounded_append
from schemas.validation.crs import to_wgs84

if TYPE_CHECKING:
    from geo.fence_sets import CompiledFenceSet
    from schemas.records import TruckFix

DEFAULT_PARAMS = GeoParams()


def step(
    state: VehicleState | None,
    fix: TruckFix,
    fences: CompiledFenceSet,
    *,
    params: GeoParams = DEFAULT_PARAMS,
) -> tuple[VehicleState, list[Detection]]:
    """Take one fix for ``fix.plate``; ``state`` is None for a truck never seen."""
    s = _copy(state) if state is not None else VehicleState(plate=fix.plate)
    out: list[Detection] = []
    f = _snapshot(fix)
    if f.id in s.seen_ids or any(b.t == f.t for b in s.buffer):
        s.count_drop("duplicate")
        return s, out
    if s.watermark is not None and f.t <= s.watermark:
        same = s.last is not None and s.last.t == f.t and (s.last.lat, s.last.lon) == (f.lat, f.lon)
        s.count_drop("duplicate" if same else "stale")
        return s, out
    s.seen_ids.append(f.id)
    del s.seen_ids[: -params.dedup_ids]
    bisect.insort(s.buffer, f, key=lambda b: b.t)
    while s.buffer and (
        len(s.buffer) > params.reorder_fixes
        or (s.buffer[-1].t - s.buffer[0].t).total_seconds() > params.reorder_window_s
    ):
        _process(s, s.buffer.pop(0), fences, params, out)
    return s, out


def tick(
    state: VehicleState,
    now: datetime,
    fences: CompiledFenceSet,
    params: GeoParams = DEFAULT_PARAMS,
) -> tuple[VehicleState, list[Detection]]:
    """Timer call: release fixes held longer than the reorder window, then report silence."""
    s = _copy(state)
    out: list[Detection] = []
    now = _aware(now)
    while s.buffer and (now - s.buffer[0].t).total_seconds() > params.reorder_window_s:
        _process(s, s.buffer.pop(0), fences, params, out)
    last = s.last
    if last is None or s.buffer:
        return s, out
    if (now - last.t).total_seconds() >= params.silent_after_s:
        _report_silence(s, last, params, out)
    return s, out


def next_due(state: VehicleState, params: GeoParams = DEFAULT_PARAMS) -> datetime | None:
    """The earliest event time at which :func:`tick` can change ``state``: when the oldest
    held-back fix leaves the reorder window, else when the last fix's silence reaches the
    threshold; None when neither can happen (no fix yet, or this silence already reported).

    Why: a timer that ticks every truck decodes every truck; one that knows this time skips the
    trucks with nothing due (streams/due.py). Before it, :func:`tick` returns the state unchanged.

    >>> from datetime import UTC
    >>> t = datetime(2026, 12, 4, 8, tzinfo=UTC)
    >>> s = VehicleState(plate="浙A12345", last=Fix(id="f1", t=t, lat=30.0, lon=120.0))
    >>> next_due(s) - t == timedelta(seconds=DEFAULT_PARAMS.silent_after_s)
    True
    >>> next_due(s.model_copy(update={"silent_since": t})) is None
    True
    """
    if state.buffer:
        return state.buffer[0].t + timedelta(seconds=params.reorder_window_s)
    last = state.last
    if last is None or state.silent_since == last.t:
        return None
    return last.t + timedelta(seconds=params.silent_after_s)


def _report_silence(s: VehicleState, last: Fix, p: GeoParams, out: list[Detection]) -> None:
    """One ``silent`` per silence, the same whether a tick or the next fix finds it.

    Its duration is the threshold crossed, not the silence so far: the detection must not
    depend on when a timer happened to run (a replay at full speed sees other tick times).
    """
    if s.silent_since != last.t:
        s.silent_since = last.t
        out.append(_detection(s, "silent", last.t, last.t, last, duration_s=p.silent_after_s))


def flush(
    state: VehicleState, fences: CompiledFenceSet, params: GeoParams = DEFAULT_PARAMS
) -> tuple[VehicleState, list[Detection]]:
    """Process every held-back fix now (end of a replay, or before a planned shutdown)."""
    s = _copy(state)
    out: list[Detection] = []
    while s.buffer:
        _process(s, s.buffer.pop(0), fences, params, out)
    return s, out


def fences_changed(
    state: VehicleState,
    old: CompiledFenceSet | None,
    new: CompiledFenceSet,
    now: datetime,
) -> tuple[VehicleState, list[Detection]]:
    """After a hot-load: close what referred to fences that ``new`` no longer has.

    A truck inside a removed fence gets a ``fence_exit`` at ``now``; pending entries, banned
    episodes and a deviation from a removed route are forgotten. Fences that stay (even if
    their shape changed) are re-judged by the next fix, with the usual hysteresis.
    """
    s = _copy(state)
    out: list[Detection] = []
    _close_removed(s, new, _aware(now), out, old)
    return s, out


# ---------------------------------------------------------------- one released fix


def _process(
    s: VehicleState, f: Fix, fences: CompiledFenceSet, p: GeoParams, out: list[Detection]
) -> None:
    prev = s.last
    derived = 0.0
    if prev is not None and (f.t - prev.t).total_seconds() >= p.silent_after_s:
        _report_silence(s, prev, p, out)  # a silence this fix ends, if no tick reported it
    if prev is not None:
        dt = (f.t - prev.t).total_seconds()
        d = distance_m(prev.lat, prev.lon, f.lat, f.lon)
        implied = max(0.0, d - p.gps_noise_m) / dt * 3.6 if dt > 0 else float("inf")
        if implied > p.max_speed_kmh:
            s.jump_run += 1
            if s.jump_run < p.jump_reanchor_after:
                s.count_drop("impossible_jump")
                return
            # several "jumps" in a row agree with each other: the old position was the bad one
            s.motion = type(s.motion)()
            prev = None
        else:
            derived = d / dt * 3.6 if dt > 0 else 0.0
    s.jump_run = 0
    speed = f.speed if f.speed is not None else derived
    s.last = f
    s.recent.append(f)
    del s.recent[: -p.recent_fixes]
    s.watermark = f.t
    s.silent_since = None
    _close_removed(s, fences, f.t, out, None)
    _update_fences(s, f, fences, p, out)
    _update_banned(s, f, speed=speed, fences=fences, p=p, out=out)
    _update_overspeed(s, f, speed=speed, fences=fences, p=p, out=out)
    _update_motion(s, f, prev=prev, speed=speed, fences=fences, p=p, out=out)
    _update_route(s, f, fences, p, out)


def _update_fences(
    s: VehicleState, f: Fix, fences: CompiledFenceSet, p: GeoParams, out: list[Detection]
) -> None:
    cands: dict[str, Fence] = {x.id: x for x in fences.index.near(f.lat, f.lon, p.hysteresis_m)}
    for fid in [*s.fences, *s.pending_enter]:
        fence = fences.get(fid)
        if fence is not None:
            cands[fid] = fence
    for fid in sorted(cands):
        fence = cands[fid]
        depth = fence.depth_m(f.lat, f.lon)
        m = s.fences.get(fid)
        if m is None:
            if depth <= 0:
                s.pending_enter.pop(fid, None)
                continue
            since = s.pending_enter.setdefault(fid, f.t)
            if depth > p.hysteresis_m or _secs(since, f.t) >= p.confirm_s:
                del s.pending_enter[fid]
                s.fences[fid] = Membership(kind=fence.kind, entered_at=since, evidence=[f.id])
                out.append(
                    _detection(s, "fence_enter", since, since, f, fence=fence, distance_m=depth)
                )
            continue
        bounded_append(m.evidence, f.id, p.evidence_max)
        if depth >= 0:
            m.outside_since = None
            if not m.dwell_reported and _secs(m.entered_at, f.t) >= p.fence_dwell_s:
                m.dwell_reported = True
                out.append(
                    _detection(
                        s,
                        "fence_dwell",
                        m.entered_at,
                        f.t,
                        f,
                        fence=fence,
                        duration_s=_secs(m.entered_at, f.t),
                        distance_m=depth,
                        evidence=m.evidence,
                    )
                )
            continue
        if m.outside_since is None:
            m.outside_since = f.t
        if -depth > p.hysteresis_m or _secs(m.outside_since, f.t) >= p.confirm_s:
            left = m.outside_since
            del s.fences[fid]
            out.append(
                _detection(
                    s,
                    "fence_exit",
                    m.entered_at,
                    left,
                    f,
                    fence=fence,
                    duration_s=_secs(m.entered_at, left),
                    distance_m=-depth,
                    evidence=m.evidence,
                )
            )


def _update_banned(
    s: VehicleState,
    f: Fix,
    *,
    speed: float,
    fences: CompiledFenceSet,
    p: GeoParams,
    out: list[Detection],
) -> None:
    """banned_zone: inside an always-forbidden zone; banned_hours: inside during its window.

    A time-windowed zone (a curfew, school hours) is reported only once the truck is seen
    moving in it, so a truck parked overnight at its own yard inside a curfew area is not.
    """
    active: set[str] = set()
    for fid, m in s.fences.items():
        fence = fences.get(fid)
        if fence is None or m.kind != "forbidden_zone" or not fence.banned_at(f.t):
            continue
        active.add(fid)
        ep = s.banned.get(fid)
        if ep is None:
            ep = s.banned[fid] = Episode(
                start=f.t, fence_id=fid, fence_kind=fence.kind, lat=f.lat, lon=f.lon
            )
        bounded_append(ep.evidence, f.id, p.evidence_max)
        ep.moving_seen = ep.moving_seen or speed >= p.stop_speed_kmh
        if ep.reported or (fence.windows and not ep.moving_seen):
            continue
        ep.reported = True
        kind: DetectionKind = "banned_hours" if fence.windows else "banned_zone"
        out.append(_episode(s, kind, ep, f, fence=fence, max_speed_kmh=speed))
    for fid in [k for k in s.banned if k not in active]:
        del s.banned[fid]


def _limit_at(s: VehicleState, f: Fix, fences: CompiledFenceSet, p: GeoParams) -> float | None:
    limits = []
    for fid, m in s.fences.items():
        fence = fences.get(fid)
        if fence is not None and m.kind == "speed_zone":
            lim = fence.limit_at(f.t)
            if lim is not None:
                limits.append(lim)
    return min(limits) if limits else p.default_limit_kmh


def _update_overspeed(
    s: VehicleState,
    f: Fix,
    *,
    speed: float,
    fences: CompiledFenceSet,
    p: GeoParams,
    out: list[Detection],
) -> None:
    limit = _limit_at(s, f, fences, p)
    ep = s.overspeed
    if limit is not None and speed > limit + p.overspeed_tolerance_kmh:
        if ep is None:
            ep = s.overspeed = Episode(start=f.t, lat=f.lat, lon=f.lon, limit=limit)
        ep.clear_since = None
        ep.limit = min(ep.limit, limit)
        ep.max_speed = max(ep.max_speed, speed)
        bounded_append(ep.evidence, f.id, p.evidence_max)
        if not ep.reported and _secs(ep.start, f.t) >= p.overspeed_min_s:
            ep.reported = True
            zone = _speed_zone_of(s, fences, ep.limit, f)
            out.append(
                _episode(
                    s,
                    "overspeed",
                    ep,
                    f,
                    fence=zone,
                    max_speed_kmh=ep.max_speed,
                    limit_kmh=ep.limit,
                )
            )
        return
    if ep is None:
        return
    if not ep.reported:
        s.overspeed = None  # a lone spike never became an episode
        return
    ep.clear_since = ep.clear_since or f.t
    if _secs(ep.clear_since, f.t) >= p.overspeed_end_s:
        s.overspeed = None


def _speed_zone_of(s: VehicleState, fences: CompiledFenceSet, limit: float, f: Fix) -> Fence | None:
    for fid in sorted(s.fences):
        fence = fences.get(fid)
        if fence is not None and fence.kind == "speed_zone" and fence.limit_at(f.t) == limit:
            return fence
    return None


def _update_motion(
    s: VehicleState,
    f: Fix,
    *,
    prev: Fix | None,
    speed: float,
    fences: CompiledFenceSet,
    p: GeoParams,
    out: list[Detection],
) -> None:
    mo = s.motion
    slow = speed < p.stop_speed_kmh
    near_anchor = (
        mo.anchor_lat is not None
        and mo.anchor_lon is not None
        and distance_m(mo.anchor_lat, mo.anchor_lon, f.lat, f.lon) <= p.stop_radius_m
    )
    if slow and mo.slow_since is not None and near_anchor:
        mo.loaded = mo.loaded or f.loaded is True
        bounded_append(mo.evidence, f.id, p.evidence_max)
    elif slow:  # a new candidate stop begins here
        was_loaded = f.loaded is True or (prev is not None and prev.loaded is True)
        s.motion = mo = type(mo)(
            state="moving" if mo.state != "unknown" else "unknown",
            slow_since=f.t,
            anchor_lat=f.lat,
            anchor_lon=f.lon,
            loaded=was_loaded,
            evidence=[f.id],
        )
    else:
        s.motion = type(mo)(state="moving")
        return
    if mo.slow_since is None or mo.anchor_lat is None or mo.anchor_lon is None:
        return
    stopped_for = _secs(mo.slow_since, f.t)
    if stopped_for >= p.min_stop_s:
        mo.state = "stopped"
    loaded = mo.loaded or (f.loaded is None and p.unknown_load_is_loaded)
    if mo.dumping_reported or not loaded or stopped_for < p.dumping_stop_s:
        return
    if _at_permitted_site(mo.anchor_lat, mo.anchor_lon, fences, p):
        return
    mo.dumping_reported = True
    out.append(
        _detection(
            s,
            "suspected_dumping",
            mo.slow_since,
            mo.slow_since,
            f,
            duration_s=stopped_for,
            evidence=mo.evidence,
            lat=mo.anchor_lat,
            lon=mo.anchor_lon,
        )
    )


def _at_permitted_site(lat: float, lon: float, fences: CompiledFenceSet, p: GeoParams) -> bool:
    return any(
        fence.kind in PERMITTED_SITE_KINDS and fence.distance_m(lat, lon) <= p.site_tolerance_m
        for fence in fences.index.near(lat, lon, p.site_tolerance_m)
    )


def _update_route(
    s: VehicleState, f: Fix, fences: CompiledFenceSet, p: GeoParams, out: list[Detection]
) -> None:
    """Outside every approved corridor of the truck's permit for longer than the grace time.

    Inside a permitted site (its construction site, the 消纳场) the truck may leave the route.
    """
    routes = fences.index.routes_for(f.permit)
    if not routes or any(m.kind in PERMITTED_SITE_KINDS for m in s.fences.values()):
        s.deviation = None
        return
    dists = [(r.distance_m(f.lat, f.lon), r) for r in routes]
    if any(d <= r.corridor_m for d, r in dists):
        s.deviation = None
        return
    dist, nearest = min(dists, key=lambda x: x[0])
    ep = s.deviation
    if ep is None or ep.fence_id != nearest.id and not ep.reported:
        ep = s.deviation = Episode(
            start=f.t, fence_id=nearest.id, fence_kind="route", lat=f.lat, lon=f.lon
        )
    ep.max_distance = max(ep.max_distance, dist)
    bounded_append(ep.evidence, f.id, p.evidence_max)
    if not ep.reported and _secs(ep.start, f.t) > p.corridor_grace_s:
        ep.reported = True
        route = fences.get(ep.fence_id) or nearest
        out.append(_episode(s, "route_deviation", ep, f, fence=route, distance_m=ep.max_distance))


def _close_removed(
    s: VehicleState,
    fences: CompiledFenceSet,
    now: datetime,
    out: list[Detection],
    old: CompiledFenceSet | None,
) -> None:
    for fid in sorted(k for k in s.fences if k not in fences):
        m = s.fences.pop(fid)
        last = s.last
        lat, lon = (last.lat, last.lon) if last is not None else (0.0, 0.0)
        kind = m.kind
        if old is not None and (gone := old.get(fid)) is not None:
            kind = gone.kind
        out.append(
            Detection(
                event_id=detection_id(s.plate, "fence_exit", fid, m.entered_at),
                event_time=now,
                plate=s.plate,
                kind="fence_exit",
                fence_id=fid,
                fence_kind=kind,
                duration_s=_secs(m.entered_at, now),
                lat=lat,
                lon=lon,
                company_uscc=last.uscc if last else None,
                region_code=last.region if last else None,
                evidence=list(m.evidence),
            )
        )
    for pending in [k for k in s.pending_enter if k not in fences]:
        del s.pending_enter[pending]
    for fid in [k for k in s.banned if k not in fences]:
        del s.banned[fid]
    if s.deviation is not None and s.deviation.fence_id not in fences:
        s.deviation = None


# ---------------------------------------------------------------- helpers


def _episode(
    s: VehicleState,
    kind: DetectionKind,
    ep: Episode,
    f: Fix,
    *,
    fence: Fence | None,
    max_speed_kmh: float = 0.0,
    limit_kmh: float = 0.0,
    distance_m: float = 0.0,
) -> Detection:
    """An episode reported once, at ``f``: dated from its start, lasting until ``f``."""
    return _detection(
        s,
        kind,
        ep.start,
        ep.start,
        f,
        fence=fence,
        duration_s=_secs(ep.start, f.t),
        max_speed_kmh=max_speed_kmh,
        limit_kmh=limit_kmh,
        distance_m=distance_m,
        evidence=ep.evidence,
    )


def _detection(
    s: VehicleState,
    kind: DetectionKind,
    episode_start: datetime,
    event_time: datetime,
    f: Fix,
    *,
    fence: Fence | None = None,
    duration_s: float = 0.0,
    max_speed_kmh: float = 0.0,
    limit_kmh: float = 0.0,
    distance_m: float = 0.0,
    evidence: list[str] | None = None,
    lat: float | None = None,
    lon: float | None = None,
) -> Detection:
    fence_id = fence.id if fence is not None else ""
    return Detection(
        event_id=detection_id(s.plate, kind, fence_id, episode_start),
        event_time=event_time,
        plate=s.plate,
        kind=kind,
        fence_id=fence_id,
        fence_kind=fence.kind if fence is not None else "",
        duration_s=duration_s,
        max_speed_kmh=max_speed_kmh,
        limit_kmh=limit_kmh,
        distance_m=distance_m,
        lat=f.lat if lat is None else lat,
        lon=f.lon if lon is None else lon,
        company_uscc=f.uscc,
        region_code=f.region,
        evidence=list(evidence) if evidence is not None else [f.id],
    )


def _copy(state: VehicleState) -> VehicleState:
    """A copy the step may change while the caller's state stays untouched (step is pure).

    Only what the step changes in place is copied: the lists and dicts of the state, and the
    motion, memberships and episodes with their evidence lists. Fixes are never changed once
    made, so the buffer and recent fixes share them. A dump/validate round trip of the whole
    state (what this was) cost most of a fix's geo time (bench/RESULTS.md, 2026-12-03);
    ``test_copy_is_a_deep_copy_where_step_writes`` checks step's results against it."""
    return state.model_copy(
        update={
            "buffer": list(state.buffer),
            "recent": list(state.recent),
            "seen_ids": list(state.seen_ids),
            "motion": _with_evidence(state.motion),
            "fences": {k: _with_evidence(v) for k, v in state.fences.items()},
            "pending_enter": dict(state.pending_enter),
            "overspeed": state.overspeed and _with_evidence(state.overspeed),
            "deviation": state.deviation and _with_evidence(state.deviation),
            "banned": {k: _with_evidence(v) for k, v in state.banned.items()},
            "dropped": dict(state.dropped),
        }
    )


_Changed = TypeVar("_Changed", Motion, Membership, Episode)


def _with_evidence(part: _Changed) -> _Changed:
    """A shallow copy of a part the step changes in place, with its own evidence list."""
    return part.model_copy(update={"evidence": list(part.evidence)})


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _secs(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


def _snapshot(fix: TruckFix) -> Fix:
    lat, lon = to_wgs84(fix.lat, fix.lon, str(fix.crs))
    return Fix(
        id=fix.event_id,
        t=_aware(fix.event_time),
        lat=lat,
        lon=lon,
        speed=fix.speed_kmh,
        loaded=fix.loaded,
        permit=fix.permit_id,
        uscc=fix.company_uscc,
        region=fix.region_code,
    )
