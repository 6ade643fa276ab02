"""Fence sets: GeoJSON FeatureCollections validated and compiled into an immutable object.

Operators draw fences on whatever map they have, often a Chinese one in GCJ-02, and publish
them on ``control.geofences``. A bad set must never replace a good one, so everything that
could make detections silently wrong is refused here with a :class:`ConfigError` that names
the feature and the problem: invalid or self-intersecting polygons, empty sets, duplicate ids,
missing properties, an unknown CRS, or coordinates that cannot be in the declared CRS
(out of range, or lat/lon swapped). What passes is converted to WGS-84 once, indexed, hashed
and frozen: activation is a reference swap.

A set looks like::

    {"type": "FeatureCollection", "name": "hz-core", "version": "2026-03-01", "crs": "GCJ02",
     "tz": "Asia/Shanghai",
     "features": [{"type": "Feature", "id": "school-12",
                   "properties": {"kind": "forbidden_zone", "name": "…小学",
                                  "windows": [{"days": [1, 2, 3, 4, 5], "start": "07:00",
                                               "end": "08:30"}]},
                   "geometry": {"type": "Polygon", "coordinates": [[[lon, lat], …]]}}]}

Kinds and their properties: ``disposal_site`` and ``construction_site`` (none required),
``forbidden_zone`` (``windows``: optional; without it the zone is always banned), ``route``
(LineString; ``corridor_m`` default 50; ``permit_ids``: the permits approved to use it),
``speed_zone`` (``limit_kmh`` required; ``limits``: optional windows each with ``limit_kmh``).

>>> fs = compile_fence_set({"type": "FeatureCollection", "name": "demo", "version": "1",
...     "crs": "WGS84", "features": [{"type": "Feature", "id": "z", "properties":
...     {"kind": "forbidden_zone"}, "geometry": {"type": "Polygon",
...     "coordinates": [[[0, 0], [0, 1], [1, 1], [0, 0]]]}}]})
>>> fs.name, fs.version, len(fs.fences), [f.id for f in fs.index.containing(0.6, 0.3)]
('demo', '1', 1, ['z'])
>>> compile_fence_set({"type": "FeatureCollection", "name": "demo", "version": "1",
...     "crs": "WGS84", "features": []})
Traceback (most recent call last):
schemas.errors.ConfigError: fence set 'demo': has no features; publish at least one fence
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
import shapely.errors
from shapely.geometry import shape

from geo.fence import DEFAULT_CORRIDOR_M, KINDS, Fence
from geo.index import FenceIndex
from geo.timewindows import DEFAULT_TZ, TimeWindow, WindowError
from schemas.errors import ConfigError
from schemas.validation.crs import gcj02_to_wgs84, in_china

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

CRSES = ("WGS84", "GCJ02")
_AREA_TYPES = ("Polygon", "MultiPolygon")
_LINE_TYPES = ("LineString", "MultiLineString")


@dataclass(frozen=True, eq=False)
class CompiledFenceSet:
    """A validated fence set in WGS-84, indexed, with the version and hash alerts record."""

    name: str
    version: str
    crs: str
    """The CRS the set was drawn in; every geometry here is already WGS-84."""
    content_hash: str
    tz: str
    fences: tuple[Fence, ...]
    by_id: Mapping[str, Fence]
    index: FenceIndex

    def get(self, fence_id: str) -> Fence | None:
        """The fence with that id, or None: a detection names its fence by id."""
        return self.by_id.get(fence_id)

    def __contains__(self, fence_id: object) -> bool:
        return fence_id in self.by_id

    def kinds(self) -> dict[str, int]:
        """How many fences of each kind: for ``riskloop geo validate`` and status records."""
        out: dict[str, int] = {}
        for f in self.fences:
            out[f.kind] = out.get(f.kind, 0) + 1
        return dict(sorted(out.items()))


def content_hash(doc: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a fence-set document (key order and spacing ignored)."""
    canon = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


MAX_NESTING = 32
"""GeoJSON nests at most ~8 deep (collection → feature → geometry → multipolygon rings → point);
JSON nested thousands deep makes ``json.loads`` raise ``RecursionError`` in every worker."""

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def nesting_depth(payload: bytes) -> int:
    """How deep arrays and objects nest in a JSON text (strings skipped), without recursion.

    >>> nesting_depth(b'{"a": [[1, 2], "]]]"]}')
    3
    """
    depth = deepest = 0
    for m in _JSON_BRACKET.finditer(_JSON_STRING.sub(b'""', payload)):
        depth += 1 if m.group() in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def parse_fence_set(payload: str | bytes) -> CompiledFenceSet:
    """Compile a fence set from JSON text, e.g. a ``control.geofences`` record value."""
    raw = payload.encode("utf-8", errors="replace") if isinstance(payload, str) else payload
    if nesting_depth(raw) > MAX_NESTING:
        raise ConfigError(f"fence set is nested deeper than {MAX_NESTING} levels; not GeoJSON")
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"fence set is not valid JSON: {exc}") from exc
    if not isinstance(doc, Mapping):
        raise ConfigError("fence set must be a GeoJSON FeatureCollection object")
    return compile_fence_set(doc)


def load_fence_set(path: str | Path) -> CompiledFenceSet:
    """Compile a fence set from a ``.geojson`` file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read fence set {str(p)!r}: {exc.strerror or exc}") from exc
    try:
        return parse_fence_set(text)
    except ConfigError as exc:
        raise ConfigError(f"{p.name}: {exc}") from exc


def compile_fence_set(doc: Mapping[str, Any]) -> CompiledFenceSet:
    """Validate a fence-set document and compile it; raise ConfigError on the first problem."""
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("fence set has no 'name' (a non-empty string at the top level)")
    where = f"fence set {name!r}"
    if doc.get("type") != "FeatureCollection":
        raise ConfigError(f"{where}: 'type' must be 'FeatureCollection', got {doc.get('type')!r}")
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, str | int) or str(version) == "":
        raise ConfigError(f"{where}: 'version' must be a non-empty string at the top level")
    crs = doc.get("crs")
    if crs not in CRSES:
        raise ConfigError(
            f"{where}: unknown CRS {crs!r}; declare 'crs' as 'WGS84' or 'GCJ02' at the top level"
        )
    tz = doc.get("tz", DEFAULT_TZ)
    features = doc.get("features")
    if not isinstance(features, list):
        raise ConfigError(f"{where}: 'features' must be a list")
    if not features:
        raise ConfigError(f"{where}: has no features; publish at least one fence")
    fences: list[Fence] = []
    seen: set[str] = set()
    for i, feat in enumerate(features):
        fence = _compile_feature(feat, i, str(crs), str(tz), where)
        if fence.id in seen:
            raise ConfigError(f"{where}: feature {fence.id!r}: duplicate id; ids must be unique")
        seen.add(fence.id)
        fences.append(fence)
    ordered = tuple(fences)
    return CompiledFenceSet(
        name=name,
        version=str(version),
        crs=str(crs),
        content_hash=content_hash(doc),
        tz=str(tz),
        fences=ordered,
        by_id=MappingProxyType({f.id: f for f in ordered}),
        index=FenceIndex(ordered),
    )


def _feature_id(feat: Mapping[str, Any], i: int, where: str) -> str:
    props = feat.get("properties") or {}
    raw = feat.get("id", props.get("id") if isinstance(props, Mapping) else None)
    if isinstance(raw, bool) or not isinstance(raw, str | int) or str(raw).strip() == "":
        raise ConfigError(f"{where}: feature #{i} has no 'id'; give every feature a unique id")
    return str(raw)


def _compile_feature(feat: object, i: int, crs: str, tz: str, where: str) -> Fence:
    if not isinstance(feat, Mapping) or feat.get("type") != "Feature":
        raise ConfigError(f"{where}: feature #{i} is not a GeoJSON Feature object")
    fid = _feature_id(feat, i, where)
    here = f"{where}: feature {fid!r}"
    props = feat.get("properties")
    if not isinstance(props, Mapping):
        raise ConfigError(f"{here}: missing 'properties' (needs at least 'kind')")
    kind = props.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"{here}: missing or unknown 'kind' {kind!r}; one of {sorted(KINDS)}")
    geom = _geometry(feat.get("geometry"), str(kind), crs, here)
    try:
        extra = _kind_properties(str(kind), props, tz)
    except WindowError as exc:
        raise ConfigError(f"{here}: bad time window: {exc}") from exc
    except ValueError as exc:
        raise ConfigError(f"{here}: {exc}") from exc
    name = props.get("name", "")
    return Fence.build(
        fid,
        str(kind),
        geom,
        name=str(name),
        properties=MappingProxyType(dict(props)),
        **extra,
    )


def _number(props: Mapping[str, Any], key: str, default: float | None = None) -> float | None:
    value = props.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{key!r} must be a number, got {value!r}")
    if value <= 0:
        raise ValueError(f"{key!r} must be positive, got {value!r}")
    return float(value)


def _windows(raw: object, key: str, tz: str) -> list[TimeWindow]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise WindowError(f"{key!r} must be a list of windows")
    return [TimeWindow.parse(w, tz) for w in raw]


def _kind_properties(kind: str, props: Mapping[str, Any], tz: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if kind == "route":
        out["corridor_m"] = _number(props, "corridor_m", DEFAULT_CORRIDOR_M)
        permits = props.get("permit_ids", [])
        if not isinstance(permits, list) or not all(isinstance(p, str) and p for p in permits):
            raise ValueError(f"'permit_ids' must be a list of permit ids, got {permits!r}")
        out["permit_ids"] = frozenset(permits)
    elif kind == "speed_zone":
        if "limit_kmh" not in props:
            raise ValueError("missing 'limit_kmh' (a speed zone needs its limit in km/h)")
        out["limit_kmh"] = _number(props, "limit_kmh")
        timed = []
        for w, raw in zip(
            _windows(props.get("limits"), "limits", tz), props.get("limits") or [], strict=True
        ):
            timed.append((w, _number(raw, "limit_kmh") if "limit_kmh" in raw else None))
        if any(lim is None for _, lim in timed):
            raise ValueError("every entry of 'limits' needs its own 'limit_kmh'")
        out["timed_limits"] = tuple(timed)
    elif kind == "forbidden_zone":
        out["windows"] = tuple(_windows(props.get("windows"), "windows", tz))
    return out


def _geometry(raw: object, kind: str, crs: str, here: str) -> BaseGeometry:
    allowed = _LINE_TYPES if kind == "route" else _AREA_TYPES
    if not isinstance(raw, Mapping) or raw.get("type") not in allowed:
        got = raw.get("type") if isinstance(raw, Mapping) else raw
        raise ConfigError(f"{here}: a {kind} needs a {' or '.join(allowed)} geometry, got {got!r}")
    try:
        geom = shape(raw)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ConfigError(f"{here}: malformed {raw.get('type')} coordinates: {exc}") from exc
    except shapely.errors.ShapelyError as exc:
        raise ConfigError(f"{here}: malformed {raw.get('type')} coordinates: {exc}") from exc
    if geom.is_empty:
        raise ConfigError(f"{here}: geometry is empty")
    coords = shapely.get_coordinates(geom)
    _check_coordinates(coords, crs, here)
    _check_shape(geom, kind, here)
    if crs == "GCJ02":
        geom = shapely.transform(geom, _gcj02_to_wgs84_array)
        _check_shape(geom, kind, here + " (after GCJ02 → WGS84)")
    return geom


def _check_coordinates(coords: np.ndarray, crs: str, here: str) -> None:
    if not np.isfinite(coords).all():
        raise ConfigError(f"{here}: coordinates contain NaN or infinity")
    for lon, lat in coords:
        if not -90.0 <= lat <= 90.0 or not -180.0 <= lon <= 180.0:
            hint = (
                "; the pair looks swapped: GeoJSON order is [lon, lat]"
                if -90.0 <= lon <= 90.0 and -180.0 <= lat <= 180.0
                else ""
            )
            raise ConfigError(f"{here}: coordinate [{lon}, {lat}] is out of lon/lat range{hint}")
        if crs == "GCJ02" and not in_china(lat, lon):
            hint = " (swapped: GeoJSON order is [lon, lat])" if in_china(lon, lat) else ""
            raise ConfigError(
                f"{here}: coordinate [{lon}, {lat}] is outside China but the set declares GCJ02,"
                f" which only exists there; wrong CRS or lat/lon order{hint}"
            )


def _check_shape(geom: BaseGeometry, kind: str, here: str) -> None:
    if kind == "route":
        if geom.length <= 0:
            raise ConfigError(f"{here}: route has zero length; it needs two distinct points")
        return
    if not geom.is_valid:
        raise ConfigError(f"{here}: invalid polygon: {shapely.is_valid_reason(geom)}")
    if geom.area <= 0:
        raise ConfigError(f"{here}: polygon has zero area")


def _gcj02_to_wgs84_array(coords: np.ndarray) -> np.ndarray:
    out = np.empty_like(coords)
    for i, (lon, lat) in enumerate(coords):
        wlat, wlon = gcj02_to_wgs84(float(lat), float(lon))
        out[i] = (wlon, wlat)
    return out
