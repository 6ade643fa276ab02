"""Replay recorded trajectories (CSV) through the detections, as the worker would.

The CLI map and the tests use it on the GPS samples in ``/work/shared/data/gps``: rows become
:class:`TruckFix` records sorted by event time (one interleaved stream, as Kafka would deliver
them per plate), then every plate's fixes go through :func:`geo.detect.step` and a final
:func:`geo.detect.flush`. Reading a file is the only I/O here.

>>> rows = [{"vehicle_id": "7", "ts": "2026-01-26T16:00:05Z", "lat": "53.4", "lon": "-2.9"},
...         {"vehicle_id": "7", "ts": "2026-01-26T16:00:00Z", "lat": "53.4", "lon": "-2.9"}]
>>> [f.event_time.second for f in fixes_from_rows(rows)]
[0, 5]
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from geo.detect import DEFAULT_PARAMS, flush, step
from geo.detection import Detection
from geo.fences import CompiledFenceSet
from geo.params import GeoParams
from geo.vehicle import VehicleState
from schemas.errors import RiskLoopError
from schemas.records import Crs, TruckFix


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


def parse_ts(text: str) -> datetime:
    """ISO time; a naive one is UTC (both sample files are UTC)."""
    t = datetime.fromisoformat(text)
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


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


def replay(
    fixes: Iterable[TruckFix],
    fences: CompiledFenceSet,
    params: GeoParams = DEFAULT_PARAMS,
) -> tuple[dict[str, VehicleState], list[Detection]]:
    """Run every fix through :func:`step` per plate, then flush; return states and detections."""
    states: dict[str, VehicleState] = {}
    found: list[Detection] = []
    for fix in fixes:
        states[fix.plate], dets = step(states.get(fix.plate), fix, fences, params=params)
        found.extend(dets)
    for plate in sorted(states):
        states[plate], dets = flush(states[plate], fences, params)
        found.extend(dets)
    return states, found
