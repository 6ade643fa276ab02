"""A truck's geo state at a tick or a fence-set change: the state, and what was detected.

``geo/detector.py`` holds the logic (held-back fixes released, silent trucks, exits from fences
a new version no longer has); this wraps it as a decision for streams/handle.py. The
detections become rule hits in the worker (``streams.scoring.detections_hits``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from geo.detector import fences_changed
from geo.detector import tick as geo_tick
from geo.vehicle import VehicleState
from loop.decide import Decision

if TYPE_CHECKING:
    from datetime import datetime

    from geo.detection import Detection
    from geo.fence_sets import CompiledFenceSet


@dataclass(frozen=True)
class VehicleDecision(Decision[VehicleState]):
    """A :class:`Decision` on a truck's state in one fence set, with its detections."""

    detections: list[Detection] = field(default_factory=list)


def tick_vehicle(
    state: VehicleState | None, now: datetime, fences: CompiledFenceSet
) -> VehicleDecision:
    """Release held-back fixes and report a silent truck; unchanged: the same state back."""
    if state is None:
        return VehicleDecision(None)
    after, detections = geo_tick(state, now, fences)
    if not detections and after == state:
        return VehicleDecision(state)
    return VehicleDecision(after, detections=detections)


def fences_replaced(
    state: VehicleState | None, old: CompiledFenceSet | None, new: CompiledFenceSet, now: datetime
) -> VehicleDecision:
    """Close what referred to fences that ``new`` no longer has (exit detections)."""
    if state is None:
        return VehicleDecision(None)
    after, detections = fences_changed(state, old, new, now)
    return VehicleDecision(after, detections=detections)
