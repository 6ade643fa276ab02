"""WGS-84 ↔ GCJ-02 conversion, so a fence and a fix are compared in one CRS.

Chinese map services draw in GCJ-02, many terminals report WGS-84; the two differ by hundreds
of metres inside China. We compare everything in WGS-84. The forward transform is the published
GB obfuscation formula (Krasovsky ellipsoid); the inverse has no closed form, so it iterates
the forward one (fixed point, converges to < 1e-7° in a handful of steps). Outside China the
offset is zero by definition.

>>> lat, lon = wgs84_to_gcj02(39.908, 116.397)
>>> round((lat - 39.908) * 1e5), round((lon - 116.397) * 1e5)  # ~ +140 m north, +620 m east
(140, 624)
>>> back = gcj02_to_wgs84(lat, lon)
>>> abs(back[0] - 39.908) < 1e-7 and abs(back[1] - 116.397) < 1e-7
True
"""

from __future__ import annotations

import math

_A = 6378245.0  # Krasovsky 1940 semi-major axis
_EE = 0.00669342162296594323  # its first eccentricity squared


def in_china(lat: float, lon: float) -> bool:
    """Rough mainland bounding box where the GCJ-02 offset applies."""
    return 0.8293 <= lat <= 55.8271 and 72.004 <= lon <= 137.8347


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _offset(lat: float, lon: float) -> tuple[float, float]:
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return dlat, dlon


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """WGS-84 → GCJ-02 (identity outside China)."""
    if not in_china(lat, lon):
        return lat, lon
    dlat, dlon = _offset(lat, lon)
    return lat + dlat, lon + dlon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """GCJ-02 → WGS-84 by fixed-point iteration of the forward transform."""
    if not in_china(lat, lon):
        return lat, lon
    wlat, wlon = lat, lon
    for _ in range(30):
        glat, glon = wgs84_to_gcj02(wlat, wlon)
        dlat, dlon = glat - lat, glon - lon
        if abs(dlat) < 1e-9 and abs(dlon) < 1e-9:
            break
        wlat, wlon = wlat - dlat, wlon - dlon
    return wlat, wlon


def to_wgs84(lat: float, lon: float, crs: str) -> tuple[float, float]:
    """Convert a point in the declared ``crs`` ("WGS84" or "GCJ02") to WGS-84."""
    if crs == "GCJ02":
        return gcj02_to_wgs84(lat, lon)
    if crs == "WGS84":
        return lat, lon
    from schemas.errors import ValidationFailed

    raise ValidationFailed("bad_crs", f"unknown CRS {crs!r}; expected WGS84 or GCJ02", "crs")
