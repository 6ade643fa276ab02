"""Muck-truck behaviour model (渣土车): anomalies in how one vehicle drives and stops.

Geofences and speed limits are rules. What a rule cannot say is "this truck does not usually
behave like this": long stops where it normally rolls through, bursts of speed, GPS jumps. Each
plate is a unit with its own baseline (via :mod:`models.unit_anomaly`); the fleet shares the
threshold and the false-alarm memory. Features per fix, from the previous fix of the same plate:
reported speed, speed implied by the displacement (catches jumps and spoofing), acceleration,
and the log of the current stop's length in minutes (a stop is < ``stop_kmh``).

>>> from datetime import datetime, timedelta, UTC
>>> m = TruckBehaviour(warmup=5, span=1)
>>> t0 = datetime(2024, 1, 1, tzinfo=UTC)
>>> fix = lambda i, lat, v: {"event_id": f"f{i}", "event_time": t0 + timedelta(seconds=30 * i),
...     "plate": "粤B12345", "lat": lat, "lon": 114.0, "speed_kmh": v}
>>> s = [m.process(fix(i, 22.5 + 0.003 * i, 36.0)) for i in range(3)]
>>> round(s[-1].features["x:implied_kmh"], 1)
40.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import NonNegativeFloat, NonNegativeInt, PositiveFloat

from models.hyperparameters import AtLeastOne, Quantile, params_model
from models.unit_anomaly import Detector, UnitAnomalyModel
from schemas.records import TruckFix

_EARTH_M = 6_371_000.0


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (WGS-84 sphere approximation; fine below 1 km error)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_M * math.asin(min(1.0, math.sqrt(h)))


class TruckBehaviour(UnitAnomalyModel):
    """Per-plate behavioural anomaly detector over GPS fixes.

    Parameters (what a publication may set, as JSON): ``warmup`` fixes a plate learns before it
    may alert; ``q`` the quantile of normal scores that is the threshold; ``span`` the EWMA span
    in fixes; ``detector``; ``bandwidth`` and ``prior`` of the false-alarm memory;
    ``min_scores`` normal scores before a threshold exists; ``stop_kmh`` the speed below which
    the truck is stopped; ``max_kmh`` the cap on implied speeds; ``seed``.
    """

    record_type = TruckFix
    source = "trucks"
    factory = "truck-behaviour"
    state_version = "1"

    def __init__(
        self,
        *,
        name: str = "truck-behaviour",
        version: str = "truck-behaviour-v1",
        warmup: NonNegativeInt = 200,
        q: Quantile = 0.995,
        span: AtLeastOne = 3,
        detector: Detector = "mahalanobis",
        bandwidth: PositiveFloat = 0.1,
        prior: PositiveFloat = 0.25,
        min_scores: AtLeastOne = 50,
        stop_kmh: NonNegativeFloat = 3.0,
        max_kmh: PositiveFloat = 200.0,
        seed: int = 42,
    ) -> None:
        super().__init__(name=name, version=version, params=locals())
        self.stop_kmh = stop_kmh
        self.max_kmh = max_kmh

    def _unit(self, record: Any) -> str:
        return str(record.plate)

    def _group(self, record: Any) -> str:
        return "fleet"

    def _uscc(self, record: Any) -> str | None:
        return record.company_uscc if record.company_uscc is None else str(record.company_uscc)

    def _raw_features(self, record: Any, context: Mapping[str, Any]) -> dict[str, float]:
        last = context.get("last")
        implied = speed = record.speed_kmh
        dt = 0.0
        if last is not None:
            dt = max((record.event_time - last["time"]).total_seconds(), 1.0)
            metres = haversine_m(last["lat"], last["lon"], record.lat, record.lon)
            implied = min(metres / dt * 3.6, self.max_kmh)
        if speed is None:
            speed = implied if implied is not None else 0.0
        features = {"speed_kmh": float(speed)}
        if implied is not None:
            features["implied_kmh"] = float(implied)
        if last is not None:
            features["accel_kmh_s"] = (float(speed) - last["speed"]) / dt
        stop_start = context.get("stop_start")
        stopped_min = 0.0
        if speed < self.stop_kmh and stop_start is not None:
            stopped_min = (record.event_time - stop_start).total_seconds() / 60.0
        features["log_stop_min"] = math.log1p(max(stopped_min, 0.0))
        return features

    def _advance(self, record: Any, context: dict[str, Any]) -> None:
        last = context.get("last")
        if last is not None and record.event_time < last["time"]:
            return  # an out-of-order fix must not rewind the plate's state
        speed = record.speed_kmh
        if speed is None:
            speed = self._raw_features(record, context)["speed_kmh"]
        if speed < self.stop_kmh:
            context.setdefault("stop_start", record.event_time)
            if context["stop_start"] is None:
                context["stop_start"] = record.event_time
        else:
            context["stop_start"] = None
        context["last"] = {
            "time": record.event_time,
            "lat": record.lat,
            "lon": record.lon,
            "speed": float(speed),
        }


TruckParams = params_model(TruckBehaviour)
"""What a publication of this factory may set: derived from ``__init__`` (models/factories.py)."""
