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
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models.unit_anomaly import Detector, UnitAnomalyModel
from schemas.records import EquipmentReading


class EquipmentParams(BaseModel):
    """Hyperparameters a publication may set (JSON); unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    warmup: int = Field(400, ge=0, description="readings a unit learns before it may alert")
    q: float = Field(0.99, gt=0.5, lt=1.0, description="quantile of normal scores = threshold")
    span: int = Field(10, ge=1, description="EWMA span (readings) of the smoothed metrics")
    warmup_seconds: float = Field(0.0, ge=0, description="unit's own time before it may alert")
    span_seconds: float | None = Field(
        None, gt=0, description="EWMA span in seconds (replaces ``span``: any data frequency)"
    )
    memory_seconds: float | None = Field(
        None, gt=0, description="baseline memory in seconds (e-folding); None: never forgets"
    )
    hold_seconds: float = Field(
        0.0, ge=0, description="an alert is held until the unit is settled this long"
    )
    release_drop: float | None = Field(
        None, gt=0, description="decades below its level that end an incident (then re-fit)"
    )
    rebaseline_seconds: float = Field(
        0.0, ge=0, description="unit's own time after a re-fit before it may alert again"
    )
    raise_seconds: float = Field(
        0.0, ge=0, description="an alarm needs the score above the threshold this long"
    )
    profile_seconds: float | None = Field(
        None, gt=0, description="time-of-day profile memory in seconds; None: no profile"
    )
    profile_bins: int = Field(24, ge=1, le=288, description="slots of the day the profile keeps")
    detector: Detector = "mahalanobis"
    bandwidth: float = Field(0.1, gt=0, description="false-alarm memory: direction kernel width")
    prior: float = Field(0.25, gt=0, description="false-alarm memory prior weight")
    min_scores: int = Field(50, ge=1, description="normal scores before a threshold exists")
    seed: int = 42


class EquipmentAnomaly(UnitAnomalyModel):
    """Multivariate anomaly detector over ``EquipmentReading.metrics``."""

    record_type = EquipmentReading
    source = "equipment"
    factory = "equipment-anomaly"
    state_version = "1"

    def __init__(
        self,
        *,
        name: str = "equipment-anomaly",
        version: str = "equipment-anomaly-v1",
        warmup: int = 400,
        q: float = 0.99,
        span: int = 10,
        warmup_seconds: float = 0.0,
        span_seconds: float | None = None,
        memory_seconds: float | None = None,
        hold_seconds: float = 0.0,
        release_drop: float | None = None,
        rebaseline_seconds: float = 0.0,
        raise_seconds: float = 0.0,
        profile_seconds: float | None = None,
        profile_bins: int = 24,
        detector: Detector = "mahalanobis",
        bandwidth: float = 0.1,
        prior: float = 0.25,
        min_scores: int = 50,
        seed: int = 42,
    ) -> None:
        params = EquipmentParams(
            warmup=warmup,
            q=q,
            span=span,
            warmup_seconds=warmup_seconds,
            span_seconds=span_seconds,
            memory_seconds=memory_seconds,
            hold_seconds=hold_seconds,
            release_drop=release_drop,
            rebaseline_seconds=rebaseline_seconds,
            raise_seconds=raise_seconds,
            profile_seconds=profile_seconds,
            profile_bins=profile_bins,
            detector=detector,
            bandwidth=bandwidth,
            prior=prior,
            min_scores=min_scores,
            seed=seed,
        )
        super().__init__(
            name=name, version=version, params=params.model_dump(), **params.model_dump()
        )

    def _unit(self, record: Any) -> str:
        return str(record.equipment_code)

    def _group(self, record: Any) -> str:
        return str(record.equipment_type)

    def _raw_features(self, record: Any, context: Mapping[str, Any]) -> dict[str, float]:
        return {k: float(v) for k, v in record.metrics.items()}
