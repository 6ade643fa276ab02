"""Drift offsets (models/slow_drift.py) in the equipment model: a slow climb of one channel is
absorbed, a jump of the same size is still a fault, and the option off changes nothing."""

from __future__ import annotations

import pickle
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from models.equipment import EquipmentAnomaly
from models.slow_drift import follow, weight

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SETTINGS = {"warmup": 400, "span_seconds": 5.0, "q": 0.99, "hold_seconds": 10.0}
DRIFT = {"drift_seconds": 120.0, "drift_band": 4.5}


def _bench(seconds: int, *, climb: float = 0.0, jump_at: int | None = None) -> list[Any]:
    """A pump loop at 1 Hz: two noisy channels; the water's temperature climbs ``climb`` per
    second after the 400-s reference, or jumps by 1.0 (about 10 σ) at ``jump_at``."""
    rng = random.Random(5)
    out = []
    for i in range(seconds):
        water = 22.0 + rng.gauss(0, 0.1) + climb * max(i - 400, 0)
        if jump_at is not None and i >= jump_at:
            water += 1.0
        out.append(
            {
                "event_id": f"b{i}",
                "event_time": T0 + timedelta(seconds=i),
                "equipment_code": "PUMP-1",
                "equipment_type": "pressure_vessel",
                "uscc": "91110000100000000X",
                "metrics": {"water": water, "flow": 76.0 + rng.gauss(0, 0.5)},
            }
        )
    return out


def _alerts(readings: list[Any], **params: Any) -> list[bool]:
    m = EquipmentAnomaly(**{**SETTINGS, **params})
    return [m.process(r).alert for r in readings]


def test_a_slow_climb_is_absorbed_with_offsets():
    readings = _bench(1200, climb=0.001)  # 0.8 degrees (~8 σ) over 800 s
    without = sum(_alerts(readings))
    with_offsets = sum(_alerts(readings, **DRIFT))
    assert without > 600  # once over the threshold, held, and never learnt again
    assert with_offsets < 80  # the offset follows it: what is left is the tail's noise


def test_a_jump_of_the_same_size_is_still_a_fault():
    alerts = _alerts(_bench(1200, jump_at=700), **DRIFT)
    assert sum(alerts[700:]) > 450  # flagged through to the end: the offset did not follow
    assert sum(alerts[400:700]) < 20


def test_off_by_default_and_the_same_as_before():
    readings = _bench(900, climb=0.001)
    assert _alerts(readings) == _alerts(readings, drift_seconds=None)
    model = EquipmentAnomaly(**SETTINGS)
    for r in readings:
        model.process(r)
    assert model.units.get("PUMP-1").offsets == {}


def test_offsets_survive_a_pickle():
    model = EquipmentAnomaly(**SETTINGS, **DRIFT)
    readings = _bench(900, climb=0.001)
    for r in readings[:800]:
        model.process(r)
    copy = pickle.loads(pickle.dumps(model))
    assert copy.units.get("PUMP-1").offsets["water"] > 0.1
    rest = readings[800:]
    assert [model.process(r).alert for r in rest] == [copy.process(r).alert for r in rest]


def test_follow_moves_only_inside_the_band():
    std = {"a": 1.0, "b": 1.0}
    out = follow({"a": 0.5}, {"a": 2.0, "b": 5.0}, std, weight=0.25, band=4.5)
    assert out == {"a": 1.0}  # a: 0.5 + 0.25 × 2; b is out of the band and gets no offset
    assert weight(0.0, 600.0) == 0.0
    assert 0.0 < weight(1.0, 600.0) < weight(10.0, 600.0) < 1.0
