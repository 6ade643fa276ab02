"""Special-equipment anomaly model (特种设备): per unit baselines, one alarm per equipment type.

Elevators, boilers, pressure vessels, cranes and ropeways report different metrics; each type is
its own group (threshold and false-alarm memory), each registration code its own baseline. The
detector is the online Mahalanobis distance over EWMA-smoothed metrics (see
:mod:`models.mahalanobis` for why, and models/EVALUATION.md for SKAB numbers); Half-Space Trees
stay available as ``detector="hst"`` for comparison. Hard events (trapped passengers, door
faults) are the rules' job: they need no learning and must fire on the first occurrence.

>>> import random
>>> from datetime import datetime, UTC
>>> rng = random.Random(7)
>>> m = EquipmentAnomaly(warmup=100)
>>> def reading(i, current):
...     return {"event_id": f"e{i}", "event_time": datetime(2024, 1, 1, tzinfo=UTC),
...             "equipment_code": "31104403002019", "equipment_type": "elevator",
...             "uscc": "91440300MA5FUTJ97K",
...             "metrics": {"current": current, "speed": 1.0 + rng.gauss(0, 0.01)}}
>>> results = [m.process(reading(i, 10 + rng.gauss(0, 0.1))) for i in range(1000)]
>>> sum(r.alert for r in results) < 30, m.score_one(reading(1000, 12.0)).alert
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat

from models.hyperparameters import AtLeastOne, Probability, Quantile, params_model
from models.unit_anomaly import Detector, UnitAnomalyModel
from schemas.records import EquipmentReading


class EquipmentAnomaly(UnitAnomalyModel):
    """Multivariate anomaly detector over ``EquipmentReading.metrics``.

    Parameters (what a publication may set, as JSON; models/unit_anomaly.py says how each acts):
    ``warmup`` readings a unit learns before it may alert; ``q`` the quantile of normal scores
    that is the threshold; ``span`` the EWMA span in readings, or ``span_seconds`` in seconds
    (any data frequency); ``warmup_seconds`` the unit's own time before it may alert;
    ``memory_seconds`` the baseline's memory (e-folding; None: never forgets); ``hold_seconds``
    how long an alert is held until the unit is settled; ``release_drop`` the decades below its
    level that end an incident (then re-fit), ``release_ceiling`` the decades over the threshold
    above which that drop does not end it; ``rebaseline_seconds`` the unit's own time after a
    re-fit before it may alert again; ``accept_seconds`` how long an incident may stay above the
    threshold before its state is taken as the new normal (then re-fit; None: never);
    ``raise_seconds`` how long the score must stay above the threshold to raise an alarm;
    ``profile_seconds`` the time-of-day profile's memory (None: no profile) over
    ``profile_bins`` slots of the day; ``drift_seconds`` how fast each channel's
    offset follows a slow drift (None: no offsets) while within ``drift_band`` standard
    deviations (models/slow_drift.py); ``fleet_drift`` the ridge λ of the fleet's drift metric,
    which weighs a unit's deviations by how the equipment type's units deviate when normal
    (models/fleet_drift.py; None: the unit's Mahalanobis score); ``level_seconds`` the memory of the recent level each
    channel is read against (None: none); ``spot_risk`` the alarm budget, a
    peaks-over-threshold bar over the ``spot_level`` quantile of the warm-up's scores (None: the
    ``q`` quantile is the threshold); ``early_seconds`` how long into its first warm-up a unit
    is watched, over the score ``early_bar`` (None: not watched before it is warm); ``detector``; ``bandwidth`` and ``prior`` of the
    false-alarm memory; ``min_scores`` normal scores before a threshold exists; ``seed``.
    """

    record_type = EquipmentReading
    source = "equipment"
    factory = "equipment-anomaly"
    state_version = "1"

    def __init__(
        self,
        *,
        name: str = "equipment-anomaly",
        version: str = "equipment-anomaly-v1",
        warmup: NonNegativeInt = 400,
        q: Quantile = 0.99,
        span: AtLeastOne = 10,
        warmup_seconds: NonNegativeFloat = 0.0,
        span_seconds: PositiveFloat | None = None,
        memory_seconds: PositiveFloat | None = None,
        hold_seconds: NonNegativeFloat = 0.0,
        release_drop: PositiveFloat | None = None,
        release_ceiling: PositiveFloat | None = None,
        rebaseline_seconds: NonNegativeFloat = 0.0,
        accept_seconds: PositiveFloat | None = None,
        raise_seconds: NonNegativeFloat = 0.0,
        profile_seconds: PositiveFloat | None = None,
        profile_bins: Annotated[int, Field(ge=1, le=288)] = 24,
        drift_seconds: PositiveFloat | None = None,
        drift_band: PositiveFloat = 4.5,
        fleet_drift: PositiveFloat | None = None,
        level_seconds: PositiveFloat | None = None,
        spot_risk: Probability | None = None,
        spot_level: Quantile = 0.98,
        early_seconds: NonNegativeFloat | None = None,
        early_bar: PositiveFloat = 15.0,
        detector: Detector = "mahalanobis",
        bandwidth: PositiveFloat = 0.1,
        prior: PositiveFloat = 0.25,
        min_scores: AtLeastOne = 50,
        seed: int = 42,
    ) -> None:
        super().__init__(name=name, version=version, params=locals())

    def _unit(self, record: Any) -> str:
        return str(record.equipment_code)

    def _group(self, record: Any) -> str:
        return str(record.equipment_type)

    def _raw_features(self, record: Any, context: Mapping[str, Any]) -> dict[str, float]:
        return {k: float(v) for k, v in record.metrics.items()}


EquipmentParams = params_model(EquipmentAnomaly)
"""What a publication of this factory may set: derived from ``__init__`` (models/factories.py)."""
