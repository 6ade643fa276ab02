"""Coordinates: in range, not the (0, 0) placeholder, and converted to WGS-84.

A fence drawn on a GCJ-02 map and a WGS-84 fix are hundreds of metres apart inside China, so
every point is converted once, at the door, according to the CRS its source declares.

>>> to_wgs84_checked(30.27, 120.15, "WGS84")
(30.27, 120.15)
>>> lat, lon = to_wgs84_checked(30.27, 120.15, "GCJ02")
>>> round(lat, 3), round(lon, 3)
(30.272, 120.145)
"""

from __future__ import annotations

import math

from schemas.errors import ValidationFailed
from schemas.validation.crs import to_wgs84


def check_point(lat: object, lon: object, prefix: str = "") -> tuple[float, float]:
    """Both numbers, finite, in range and not exactly (0, 0) (a GPS without a fix)."""
    for name, v in (("lat", lat), ("lon", lon)):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValidationFailed(
                "wrong_type", f"expected a number, got {type(v).__name__}", prefix + name
            )
        if not math.isfinite(v):
            raise ValidationFailed("bad_coordinates", f"{v} is not a finite number", prefix + name)
    assert isinstance(lat, int | float)
    assert isinstance(lon, int | float)
    if not -90.0 <= lat <= 90.0:
        raise ValidationFailed("bad_coordinates", f"latitude {lat} outside −90…90", prefix + "lat")
    if not -180.0 <= lon <= 180.0:
        raise ValidationFailed(
            "bad_coordinates", f"longitude {lon} outside −180…180", prefix + "lon"
        )
    if lat == 0 and lon == 0:
        raise ValidationFailed(
            "bad_coordinates", "(0, 0) is a missing fix, not a place", prefix + "lat"
        )
    return float(lat), float(lon)


def to_wgs84_checked(
    lat: object, lon: object, crs: object, prefix: str = ""
) -> tuple[float, float]:
    """Check the point, then convert from the declared CRS (``bad_crs`` if unknown)."""
    if not isinstance(crs, str):
        raise ValidationFailed(
            "bad_crs", f"CRS must be a string, got {type(crs).__name__}", prefix + "crs"
        )
    la, lo = check_point(lat, lon, prefix)
    return to_wgs84(la, lo, crs)
