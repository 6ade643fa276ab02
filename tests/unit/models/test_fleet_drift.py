"""The fleet's drift metric (models/fleet_drift.py) in the equipment model: a wander that every
pump of the type shows when normal stops being a fault once the fleet has shown it, while a
step on a channel the fleet holds still is a fault either way; the option off changes nothing."""

from __future__ import annotations

import math
import pickle
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from models.equipment import EquipmentAnomaly
from models.fleet_drift import DriftMetric

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SETTINGS = {"warmup": 400, "span_seconds": 5.0, "q": 0.99, "hold_seconds": 10.0}


def _pump(k: int, *, wander: float = 0.6, step_at: int | None = None, n: int = 1100) -> list[Any]:
    """Pump ``k`` at 1 Hz, its own day: after the 400-s reference the water's temperature
    wanders by ``wander`` degrees (about 6 σ, slowly, each pump its own phase); the flow
    steps by 3 (about 6 σ) at ``step_at``."""
    rng = random.Random(k)
    phase = rng.uniform(0, 2 * math.pi)
    out = []
    for i in range(n):
        drift = wander * math.sin(phase + (i - 400) / 120) - wander * math.sin(phase)
        water = 22.0 + rng.gauss(0, 0.1) + (drift if i > 400 else 0.0)
        flow = 76.0 + rng.gauss(0, 0.5) + (3.0 if step_at is not None and i >= step_at else 0.0)
        out.append(
            {
                "event_id": f"p{k}-{i}",
                "event_time": T0 + timedelta(days=k, seconds=i),
                "equipment_code": f"PUMP-{k}",
                "equipment_type": "pressure_vessel",
                "uscc": "91110000100000000X",
                "metrics": {"water": water, "flow": flow},
            }
        )
    return out


def _fleet(**params: Any) -> EquipmentAnomaly:
    """A model that has run five pumps of the type, each wandering as pumps do."""
    model = EquipmentAnomaly(**{**SETTINGS, **params})
    for k in range(1, 6):
        for r in _pump(k):
            model.process(r)
    return model


def test_a_wander_the_fleet_shows_is_no_longer_a_fault():
    readings = _pump(6)
    plain, weighed = _fleet(), _fleet(fleet_drift=0.1)
    without = sum(plain.process(r).alert for r in readings)
    with_metric = sum(weighed.process(r).alert for r in readings)
    assert without > 150
    assert with_metric < without / 3


def test_a_step_on_a_channel_the_fleet_holds_still_is_a_fault_either_way():
    readings = _pump(7, step_at=700)
    for params in ({}, {"fleet_drift": 0.1}):
        model = _fleet(**params)
        alerts = [model.process(r).alert for r in readings]
        assert sum(alerts[700:]) > 350, params


def test_off_by_default_and_the_group_learns_nothing():
    model, off = _fleet(), _fleet(fleet_drift=None)
    assert all(getattr(g, "drift", None) is None for g in model.groups.values())
    readings = _pump(6)
    assert [model.process(r).alert for r in readings] == [off.process(r).alert for r in readings]


def test_the_metric_survives_a_pickle_and_weighs_what_the_fleet_shows():
    model = _fleet(fleet_drift=0.1)
    drift = model.groups["pressure_vessel"].drift
    assert isinstance(drift, DriftMetric)
    assert drift.n > 500  # normal readings after each pump's warm-up (flagged ones are not learnt)
    along_water = drift.score({"water": 3.0, "flow": 0.0}, ridge=0.1)
    along_flow = drift.score({"water": 0.0, "flow": 3.0}, ridge=0.1)
    assert along_flow > 2 * along_water  # 5.0 against 1.4 when written
    copy = pickle.loads(pickle.dumps(model))
    rest = _pump(8)
    assert [model.process(r).alert for r in rest] == [copy.process(r).alert for r in rest]
