"""Read recorded trajectories (GPS CSV) as TruckFix records, as the worker would receive them.

``riskloop geo map`` and the tests use it on the GPS samples in ``datasets_dir/gps`` (see
``config/geofences/README.md``): rows become :class:`TruckFix` records sorted by event time (one
interleaved stream, as Kafka would deliver them per plate), ready for :func:`geo.trajectory_run.replay`.
Reading files is the tools' work, so this lives in ``bench/``, not in the pure ``geo/``.

>>> rows = [{"vehicle_id": "7", "ts": "2026-01-26T16:00:05Z", "lat": "53.4", "lon": "-2.9"},
...         {"vehicle_id": "7", "ts": "2026-01-26T16:00:00Z", "lat": "53.4", "lon": "-2.9"}]
>>> [f.event_time.second for f in fixes_from_rows(rows)]
[0, 5]
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import TYPE_CHECKING

from geo.trajectory_run import parse_ts
from schemas.errors import RiskLoopError
from schemas.records import Crs, TruckFix

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


def read_gps_csv(path: str | Path) -> list[dict[str, str]]:
    """Rows of a GPS CSV (``.csv`` or ``.csv.gz``) with at least ``lat, lon, ts, vehicle_id``."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise RiskLoopError(f"cannot read trajectory {str(p)!r}: {exc.strerror or exc}") from exc
    if p.suffix == ".gz":
        raw = gzip.decompress(raw)
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    missing = {"lat", "lon", "ts", "vehicle_id"} - set(rows[0] if rows else {})
    if missing:
        raise RiskLoopError(f"{p.name}: needs columns lat, lon, ts, vehicle_id; missing {missing}")
    return rows


def fixes_from_rows(
    rows: Iterable[Mapping[str, str]],
    *,
    vehicle: str | None = None,
    permit_id: str | None = None,
    loaded: bool | None = None,
    crs: Crs = Crs.wgs84,
) -> list[TruckFix]:
    """TruckFix records sorted by (event time, plate); ``vehicle`` keeps only that one."""
    fixes = []
    for r in rows:
        if vehicle is not None and r["vehicle_id"] != vehicle:
            continue
        speed = r.get("speed_kmh")
        fixes.append(
            TruckFix(
                event_id=r.get("id") or f"{r['vehicle_id']}@{r['ts']}",
                event_time=parse_ts(r["ts"]),
                plate=r["vehicle_id"],
                lat=float(r["lat"]),
                lon=float(r["lon"]),
                crs=crs,
                permit_id=permit_id,
                loaded=loaded,
                speed_kmh=float(speed) if speed else None,
            )
        )
    fixes.sort(key=lambda f: (f.event_time, f.plate, f.event_id))
    return fixes


def load_trajectory(
    path: str | Path,
    *,
    vehicle: str | None = None,
    permit_id: str | None = None,
    loaded: bool | None = None,
) -> list[TruckFix]:
    """Read a GPS CSV into sorted TruckFix records (see :func:`fixes_from_rows`)."""
    return fixes_from_rows(read_gps_csv(path), vehicle=vehicle, permit_id=permit_id, loaded=loaded)
