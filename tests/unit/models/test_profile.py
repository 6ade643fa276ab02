"""The time-of-day profile (models/profile.py) in the equipment model: a daily cycle is not a
fault, a failure still is, and one setting in seconds serves hourly and 5-minute data."""

from __future__ import annotations

import math
import pickle
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from models.equipment import EquipmentAnomaly

T0 = datetime(2024, 1, 1, tzinfo=UTC)
DAY = 86400.0
SETTINGS = {"warmup": 0, "warmup_seconds": 14 * DAY, "span_seconds": 3 * 3600.0, "q": 0.999}


def _room(
    days: int,
    step_minutes: int,
    fail_day: float | None,
    drift: float = 0.0,
    seed: int = 3,
    jump: float = 8.0,
) -> list[Any]:
    """A server room: 6 degrees of daily cycle, noise, a seasonal drift (degrees a day) and a
    cooling failure (``jump`` degrees) for a day (tests/unit/models/test_spot.py reads it too)."""
    rng = random.Random(seed)
    out = []
    for i in range(int(days * 1440 / step_minutes)):
        t = T0 + timedelta(minutes=i * step_minutes)
        day = i * step_minutes / 1440
        value = 22 + 3 * math.sin(2 * math.pi * (day % 1)) + drift * day + rng.gauss(0, 0.3)
        if fail_day is not None and fail_day <= day < fail_day + 1:
            value += jump
        out.append(
            {
                "event_id": f"r{i}",
                "event_time": t,
                "equipment_code": "ROOM-1",
                "equipment_type": "boiler",
                "uscc": "91110000100000000X",
                "metrics": {"temperature": value},
            }
        )
    return out


def _alerts(readings: list[Any], **params: Any) -> list[bool]:
    m = EquipmentAnomaly(**{**SETTINGS, **params})
    return [m.process(r).alert for r in readings]


def test_the_seasons_under_the_daily_cycle_are_not_an_alarm_with_the_profile():
    readings = _room(60, 60, None, drift=0.2)  # 9 degrees warmer by the end, slowly
    without = sum(_alerts(readings))
    with_profile = sum(_alerts(readings, profile_seconds=7 * DAY))
    assert without > 500  # the drift leaves the first weeks' mean and is never learnt again
    assert with_profile < 40  # the profile follows it (the 99.9% tail of ~1,100 readings)


def test_a_failure_is_found_within_hours_at_any_frequency():
    for step_minutes in (60, 5):
        readings = _room(40, step_minutes, fail_day=30.3)
        alerts = _alerts(readings, profile_seconds=7 * DAY)
        start = int(30.3 * 1440 / step_minutes)
        first = next(i for i in range(start, len(alerts)) if alerts[i])
        assert (first - start) * step_minutes <= 4 * 60, step_minutes  # within 4 hours
        assert sum(alerts[: start - 1]) <= 5 * 60 / step_minutes  # hardly any before it


def test_the_profile_survives_a_snapshot():
    readings = _room(20, 60, None)
    m = EquipmentAnomaly(**SETTINGS, profile_seconds=7 * DAY)
    for r in readings[:-1]:
        m.process(r)
    restored = pickle.loads(pickle.dumps(m))
    assert restored.units["ROOM-1"].profile is not None
    assert restored.score_one(readings[-1]) == m.score_one(readings[-1])
