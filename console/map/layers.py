"""The map's GeoJSON layers, computed from a :class:`MapWindow` and fence-set documents.

Pure functions: the page asks for them as JSON and Leaflet draws them. Each feature carries
the words the popup shows, so the browser builds no text from codes. Coordinates are GeoJSON
``[lon, lat]``.

Where things are: a truck at its fixes; a truck warning (dumping, banned zone, route
deviation, speeding) at the truck's fix nearest the warning's last evidence (the warning
record itself names no place); special equipment has no coordinates in the data standard, so
an elevator warning is placed at the centre of its county's outline, marked approximate, and
listed without a point when its region has no outline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shapely.geometry import shape

from console.labels import STATES, label
from console.reports.labels import level as level_word
from schemas.records import Alert, AlertState

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from console.map.window import MapWindow

Feature = dict[str, Any]
TRUCK_SOURCES = frozenset({"trucks", "truck_detections"})
"""A truck warning comes from a rule on its fixes or on a geo detection (dumping, fences)."""
ENDED = frozenset({AlertState.resolved, AlertState.false_alarm})


def _collection(features: Iterable[Feature]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def trucks(window: MapWindow) -> dict[str, Any]:
    """Per plate: its track (LineString, when it has two fixes) and its last position."""
    out: list[Feature] = []
    for plate in window.plates():
        track = window.track(plate)
        if len(track) >= 2:
            out.append(
                _feature(
                    {"type": "LineString", "coordinates": [[f.lon, f.lat] for f in track]},
                    layer="track",
                    plate=plate,
                    fixes=len(track),
                )
            )
        last = track[-1]
        out.append(
            _feature(
                {"type": "Point", "coordinates": [last.lon, last.lat]},
                layer="truck",
                plate=plate,
                at=last.at.isoformat(),
                speed_kmh=last.speed_kmh,
                loaded=last.loaded,
            )
        )
    return _collection(out)


def detections(window: MapWindow) -> dict[str, Any]:
    """Truck warnings at the truck's position when their last evidence arrived."""
    out: list[Feature] = []
    for a in window.warnings():
        if a.source not in TRUCK_SOURCES:
            continue
        when = a.evidence_records[-1].event_time if a.evidence_records else a.last_seen
        fix = window.position_at(a.entity, when)
        if fix is None:
            continue
        out.append(
            _feature(
                {"type": "Point", "coordinates": [fix.lon, fix.lat]},
                **_warning_props(a),
                layer="detection",
                plate=a.entity,
                fences=[f"{r.id}@{r.version}" for r in a.reasons if r.kind == "fence"],
            )
        )
    return _collection(out)


def equipment(
    window: MapWindow, districts: Mapping[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Special-equipment warnings placed at their county's centre, and those with no place."""
    centres = _centres(districts)
    placed: list[Feature] = []
    unplaced: list[dict[str, Any]] = []
    for a in window.warnings():
        if a.source != "equipment":
            continue
        props = {
            **_warning_props(a),
            "layer": "equipment",
            "equipment": a.entity,
            "approximate": True,
        }
        centre = _centre_of(a.region_code, centres)
        if centre is None:
            unplaced.append(props)
        else:
            placed.append(_feature({"type": "Point", "coordinates": list(centre)}, **props))
    return _collection(placed), unplaced


def fences(documents: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Every fence of the given fence sets, each tagged with its set's name and version."""
    out: list[Feature] = []
    for doc in documents:
        for f in doc.get("features", []):
            props = f.get("properties") or {}
            out.append(
                _feature(
                    f["geometry"],
                    layer="fence",
                    kind=props.get("kind", ""),
                    name=props.get("name") or f.get("id", ""),
                    id=f.get("id", ""),
                    fence_set=f"{doc.get('name')}@{doc.get('version')}",
                )
            )
    return _collection(out)


def bounds(*layers: Mapping[str, Any]) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` around every feature of ``layers`` (Leaflet's
    order), or None when they are empty: the page then shows the whole base."""
    xs: list[float] = []
    ys: list[float] = []
    for layer in layers:
        for f in layer.get("features", []):
            minx, miny, maxx, maxy = shape(f["geometry"]).bounds
            xs += [minx, maxx]
            ys += [miny, maxy]
    return [[min(ys), min(xs)], [max(ys), max(xs)]] if xs else None


def _warning_props(a: Alert) -> dict[str, Any]:
    return {
        "alert_id": a.alert_id,
        "title": a.title,
        "level": a.level.value,
        "level_word": level_word(a.level.value),
        "state": a.state.value,
        "state_word": label(STATES, a.state.value),
        "ended": a.state in ENDED,
        "region_code": a.region_code,
        "rules": [r.id for r in a.reasons if r.kind == "rule"],
        "last_seen": a.last_seen.isoformat(),
    }


def _feature(geometry: Mapping[str, Any], **props: Any) -> Feature:
    return {"type": "Feature", "geometry": dict(geometry), "properties": props}


def _centres(districts: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for f in districts.get("features", []):
        point = shape(f["geometry"]).representative_point()
        out[str(f["properties"]["code"])] = (round(point.x, 6), round(point.y, 6))
    return out


def _centre_of(
    code: str | None, centres: Mapping[str, tuple[float, float]]
) -> tuple[float, float] | None:
    if not code:
        return None
    for candidate in (code, code[:4] + "00"):
        if candidate in centres:
            return centres[candidate]
    return None
