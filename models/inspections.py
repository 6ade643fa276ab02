"""Inspection risk model (执法检查): P(the next inspection of an entity finds a critical violation).

This is what risk-weighted "双随机" sampling needs: a ranking of entities by how likely an
inspection would find something serious. The model keeps each entity's history itself (past
outcomes, counts, time since last, complaints noted against it) and predicts from that history
only. An inspection's own outcome is its label: ``score_one`` never reads it, ``learn_one``
first learns (history → outcome) and only then adds the outcome to the history. So the
current inspection cannot leak into its own score (a unit test checks exactly that).

>>> from datetime import datetime, UTC
>>> m = InspectionRisk(min_labels=1)
>>> ev = lambda i, crit: {"event_id": str(i), "event_time": datetime(2024, 1, 1 + i, tzinfo=UTC),
...     "uscc": "91440300MA5FUTJ97K", "entity_name": "某餐饮店", "region_code": "440300",
...     "outcome": "fail" if crit else "pass", "critical_count": crit}
>>> s = m.process(ev(1, 2)); s.features["past_critical"], m.score_one(ev(2, 0)).features["past_critical"]
(0.0, 2.0)
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from river import compose, linear_model, optim, preprocessing

from models.base import CONFIRMED, SourceModel, feedback_label
from models.score import ModelScore
from schemas.records import InspectionOutcome, InspectionResult, Severity


class InspectionParams(BaseModel):
    """Hyperparameters a publication may set (JSON); unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lr: float = Field(0.01, gt=0, description="SGD learning rate of the logistic regression")
    l2: float = Field(1e-4, ge=0)
    threshold: float = Field(0.3, gt=0, lt=1, description="P(critical) above which it alerts")
    min_labels: int = Field(200, ge=1, description="inspections learnt before it may alert")
    max_entities: int = Field(1_000_000, ge=1, description="histories kept (oldest dropped)")
    seed: int = 42


class InspectionRisk(SourceModel):
    """Online logistic regression over each entity's inspection history."""

    record_type = InspectionResult
    source = "inspections"
    factory = "inspection-risk"
    state_version = "1"
    supervised = True

    def __init__(
        self,
        *,
        name: str = "inspection-risk",
        version: str = "inspection-risk-v1",
        lr: float = 0.01,
        l2: float = 1e-4,
        threshold: float = 0.3,
        min_labels: int = 200,
        max_entities: int = 1_000_000,
        seed: int = 42,
    ) -> None:
        p = InspectionParams(
            lr=lr,
            l2=l2,
            threshold=threshold,
            min_labels=min_labels,
            max_entities=max_entities,
            seed=seed,
        )
        super().__init__(name=name, version=version, params=p.model_dump())
        self.threshold = p.threshold
        self.min_labels = p.min_labels
        self.max_entities = p.max_entities
        self.seed = p.seed
        self.model = compose.Pipeline(
            preprocessing.StandardScaler(),
            linear_model.LogisticRegression(optimizer=optim.SGD(p.lr), l2=p.l2),
        )
        self.history: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.labels = 0

    # ------------------------------------------------------------------ features

    def note_complaint(self, uscc: str, at: datetime) -> None:
        """Count a complaint against an entity (the agent calls it on a complaint with a USCC)."""
        h = self.history.setdefault(uscc, {})
        h["complaints"] = h.get("complaints", 0) + 1
        h.setdefault("complaints_since", at)

    def features(self, record: InspectionResult) -> dict[str, float]:
        """History-only features of the entity, as of just before this inspection."""
        h = self.history.get(record.uscc, {})
        n = h.get("n", 0)
        last = h.get("last_time")
        days = (record.event_time - last).total_seconds() / 86400 if last else 730.0
        x = {
            "first_record": 1.0 if n == 0 else 0.0,
            "log_inspections": math.log1p(n),
            "past_fail": float(h.get("last_fail", 0)),
            "past_critical": float(h.get("last_critical", 0)),
            "past_serious": float(h.get("last_serious", 0)),
            "past_minor": float(h.get("last_minor", 0)),
            "fail_rate": (h.get("fails", 0) + 0.2) / (n + 1),
            "critical_rate": (h.get("criticals", 0) + 0.14) / (n + 1),
            "years_since_last": min(max(days, 0.0), 730.0) / 365.0,
            "log_complaints": math.log1p(h.get("complaints", 0)),
            "risk_tier": float(record.risk_tier or 0),
        }
        if record.facility_type:
            x[f"facility={record.facility_type}"] = 1.0
        return x

    def _remember(self, record: InspectionResult) -> None:
        h = self.history.setdefault(record.uscc, {})
        self.history.move_to_end(record.uscc)
        critical = _critical(record)
        failed = record.outcome != InspectionOutcome.passed
        h["n"] = h.get("n", 0) + 1
        h["fails"] = h.get("fails", 0) + int(failed)
        h["criticals"] = h.get("criticals", 0) + int(critical)
        h["last_fail"] = int(record.outcome == InspectionOutcome.failed)
        h["last_critical"] = record.critical_count or int(critical)
        h["last_serious"] = record.serious_count
        h["last_minor"] = record.minor_count
        h["last_time"] = record.event_time
        while len(self.history) > self.max_entities:
            self.history.popitem(last=False)

    # ------------------------------------------------------------------ protocol

    @property
    def warmed_up(self) -> bool:
        return self.labels >= self.min_labels

    def _score(self, record: Any) -> ModelScore:
        x = self.features(record)
        p = float(self.model.predict_proba_one(x).get(True, 0.0)) if self.labels else 0.0
        return self._verdict(
            record,
            entity=record.uscc,
            score=p,
            threshold=self.threshold,
            features=x,
            uscc=record.uscc,
        )

    def learn_one(self, event: Any) -> None:
        """Learn history → this inspection's outcome, then add the outcome to the history."""
        record = self.coerce(event)
        self.model.learn_one(self.features(record), _critical(record))
        self.labels += 1
        self._remember(record)

    def learn_label(self, features: Mapping[str, float], label: str) -> None:
        """A later verdict on a warned entity: confirmed = a critical finding, else none."""
        self.model.learn_one(dict(features), feedback_label(label) == CONFIRMED)
        self.labels += 1


def _critical(record: InspectionResult) -> bool:
    """Did this inspection find a critical violation (count or listed violation)?"""
    return record.critical_count > 0 or any(
        v.severity == Severity.critical for v in record.violations
    )
