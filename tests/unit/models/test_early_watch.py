"""The early watch (``early_seconds``/``early_bar``, models/unit_anomaly.py): a fault that starts
inside a unit's warm-up is alarmed on and kept out of its baseline; a quiet warm-up raises
nothing; before ``early_seconds`` nothing alarms; the option off changes nothing."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from models.equipment import EquipmentAnomaly

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SETTINGS = {"warmup": 400, "span_seconds": 5.0, "q": 0.99, "hold_seconds": 10.0}
WATCH = {"early_seconds": 60.0, "early_bar": 15.0}


def _bench(seconds: int, *, fault: tuple[int, int] | None = None, size: float = 3.0) -> list[Any]:
    """A pump loop at 1 Hz: two noisy channels; during ``fault`` (first, last second) the flow
    drops by ``size`` (six of its standard deviations per unit of 0.5)."""
    rng = random.Random(11)
    out = []
    for i in range(seconds):
        flow = 76.0 + rng.gauss(0, 0.5)
        if fault is not None and fault[0] <= i <= fault[1]:
            flow -= size
        out.append(
            {
                "event_id": f"b{i}",
                "event_time": T0 + timedelta(seconds=i),
                "equipment_code": "PUMP-2",
                "equipment_type": "pressure_vessel",
                "uscc": "91110000100000000X",
                "metrics": {"water": 22.0 + rng.gauss(0, 0.1), "flow": flow},
            }
        )
    return out


def _alerts(readings: list[Any], **params: Any) -> list[bool]:
    model = EquipmentAnomaly(**{**SETTINGS, **params})
    return [model.process(r).alert for r in readings]


def test_a_fault_in_the_warm_up_is_alarmed_and_not_learnt():
    readings = _bench(900, fault=(120, 700), size=6.0)
    watched = _alerts(readings, **WATCH)
    blind = _alerts(readings)
    assert sum(watched[120:701]) > 550  # from its onset, through the rest of the warm-up
    assert not any(watched[:120])
    # unwatched, the fault is the baseline: it cannot alert before row 400, and after it the
    # fault is what the unit learnt as normal
    assert sum(blind[120:701]) < 60


def test_a_quiet_warm_up_raises_nothing_and_learns_the_same():
    readings = _bench(900)
    assert _alerts(readings, **WATCH) == _alerts(readings)


def test_nothing_before_early_seconds():
    readings = _bench(400, fault=(20, 399), size=6.0)
    alerts = _alerts(readings, early_seconds=100.0, early_bar=15.0)
    assert not any(alerts[:100])
    assert not any(alerts)  # the fault was learnt before the watch began: nothing stands out


def test_the_verdict_names_the_bar_it_was_judged_by():
    model = EquipmentAnomaly(**SETTINGS, **WATCH)
    readings = _bench(200, fault=(120, 199), size=6.0)
    verdicts = [model.process(r) for r in readings]
    first = next(v for v in verdicts if v.alert)
    assert first.threshold == 15.0
    assert first.warmed_up
    assert first.score > 15.0
    assert not verdicts[30].warmed_up  # before early_seconds a unit may not alert
