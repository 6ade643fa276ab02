"""Run recorded trajectories through the detections, as the worker would.

Every plate's fixes go through :func:`geo.detector.step` and a final :func:`geo.detector.flush`:
``riskloop geo map`` and the tests run a recorded drive through the same pure detections the
worker runs. No I/O here: reading a GPS file is the tools' (``bench/trajectories.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from geo.detector import DEFAULT_PARAMS, flush, step

if TYPE_CHECKING:
    from collections.abc import Iterable

    from geo.detection import Detection
    from geo.fence_sets import CompiledFenceSet
    from geo.params import GeoParams
    from geo.vehicle import VehicleState
    from schemas.records import TruckFix


def parse_ts(text: str) -> datetime:
    """ISO time; a naive one is UTC (both sample files are UTC)."""
    t = datetime.fromisoformat(text)
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


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
