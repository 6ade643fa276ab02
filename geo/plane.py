"""Metres from degrees: a local tangent plane, because shapely has no notion of a CRS.

Fences and fixes are stored in WGS-84 degrees, but every threshold a regulator writes is in
metres (a 50 m corridor, 15 m of hysteresis). One degree of longitude is 111 km at the equator
and 67 km in Liverpool, so distances in degrees are wrong by up to 40 %. Each fence therefore
gets its own equirectangular plane centred on itself, scaled with the WGS-84 ellipsoid's
meridional (M) and prime-vertical (N) radii at that latitude. Over the extent of one fence
(tens of kilometres) the scale error stays well under 1 %, and projecting a fix is two
multiplications, so it costs nothing per lookup.

>>> p = LocalPlane(45.0, 10.0)
>>> x, y = p.to_xy(46.0, 10.0)
>>> round(y)  # one degree of latitude at 45° N is ~111.13 km
111132
>>> round(distance_m(0.0, 0.0, 0.0, 1.0))  # one degree of longitude at the equator
111319
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import shapely

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

_A = 6378137.0  # WGS-84 semi-major axis
_E2 = 6.69437999014e-3  # WGS-84 first eccentricity squared
_RAD = math.pi / 180.0


def radii(lat: float) -> tuple[float, float]:
    """Meridional and prime-vertical radii of curvature (metres) at ``lat`` degrees."""
    s2 = math.sin(lat * _RAD) ** 2
    w = math.sqrt(1.0 - _E2 * s2)
    return _A * (1.0 - _E2) / (w**3), _A / w


@dataclass(frozen=True)
class LocalPlane:
    """An equirectangular plane tangent at (lat0, lon0): x east, y north, in metres."""

    lat0: float
    lon0: float
    _scales: tuple[float, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # computed once: projecting a fix must stay two multiplications
        m, n = radii(self.lat0)
        object.__setattr__(self, "_scales", (n * math.cos(self.lat0 * _RAD) * _RAD, m * _RAD))

    def to_xy(self, lat: float, lon: float) -> tuple[float, float]:
        """Project one point (degrees) to metres."""
        kx, ky = self._scales
        return (lon - self.lon0) * kx, (lat - self.lat0) * ky

    def to_lat_lon(self, x: float, y: float) -> tuple[float, float]:
        """Inverse of :meth:`to_xy`."""
        kx, ky = self._scales
        return self.lat0 + y / ky, self.lon0 + x / kx

    def project(self, geom: BaseGeometry) -> BaseGeometry:
        """A shapely geometry in (lon, lat) degrees → the same shape in plane metres."""
        kx, ky = self._scales
        scale = np.array([kx, ky])
        origin = np.array([self.lon0, self.lat0])
        return shapely.transform(geom, lambda c: (c - origin) * scale)

    def unproject(self, geom: BaseGeometry) -> BaseGeometry:
        """A geometry in plane metres → (lon, lat) degrees."""
        kx, ky = self._scales
        scale = np.array([kx, ky])
        origin = np.array([self.lon0, self.lat0])
        return shapely.transform(geom, lambda c: c / scale + origin)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance between two nearby points (metres), in the plane tangent at their midpoint.

    Good to far better than 1 % below ~100 km, which is all a fix-to-fix step ever spans.
    """
    m, n = radii((lat1 + lat2) / 2.0)
    dy = (lat2 - lat1) * _RAD * m
    dx = (lon2 - lon1) * _RAD * n * math.cos((lat1 + lat2) / 2.0 * _RAD)
    return math.hypot(dx, dy)


def degrees_margin(lat: float, metres: float) -> tuple[float, float]:
    """How many degrees of (lat, lon) make ``metres`` at ``lat``: for bounding-box queries."""
    m, n = radii(lat)
    coslat = max(math.cos(lat * _RAD), 1e-6)
    return metres / (m * _RAD), metres / (n * coslat * _RAD)
