"""Inspection risk model (执法检查): P(the next inspection of an entity finds a critical violation).

This is what risk-weighted "双随机" sampling needs: a ranking of entities by how likely an
inspection would find something serious. The model keeps each entity's history itself (past
outcomes, counts, time since last, complaints noted against it), what the complaints stream
says about the neighbourhood (sanitation and food complaints near the premises over the last
``nearby_days`` days, on a grid of ``cell_degrees``: Chicago's own model uses the same 90-day,
0.01° density), the facility type, risk tier and how long the entity has been known, and
predicts from that only. An inspection's own outcome is its label: ``score_one`` never reads it, ``learn_one``
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

import bisect
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import NonNegativeFloat, PositiveFloat
from river import compose, linear_model, optim, preprocessing

from models.base import SourceModel
from models.hyperparameters import AtLeastOne, Probability, params_model
from models.unit_history import UnitHistory
from schemas.labels import Label, confirmed
from schemas.records import InspectionOutcome, InspectionResult, Severity
from schemas.scores import ModelScore

NEARBY_KINDS = frozenset({"食品安全", "卫生计生", "环境卫生", "food", "sanitation"})
"""Complaint categories counted as "complaints near the premises": food safety and sanitation
(the sample stream's 食品安全, the taxonomy's 卫生计生, Chicago's 311 sanitation requests).
Elevators, noise or prepaid cards near a restaurant say nothing of its kitchen."""


def counts_nearby(category: str | None) -> bool:
    """Does a located complaint of ``category`` count near premises? One with no category does
    (the hotline did not say; it counted before categories were read, so it still does).

    >>> counts_nearby("食品安全"), counts_nearby("特种设备"), counts_nearby(None)
    (True, False, True)
    """
    return category is None or category in NEARBY_KINDS


class InspectionRisk(SourceModel):
    """Online logistic regression over each entity's inspection history.

    Parameters (what a publication may set, as JSON): ``lr`` the SGD learning rate of the
    logistic regression and ``l2`` its penalty; ``threshold`` the P(critical) above which it
    alerts; ``min_labels`` inspections learnt before it may alert; ``max_entities`` histories
    kept (the oldest dropped); ``nearby_days`` and ``cell_degrees`` the window and grid cell of
    "complaints near the premises"; ``seed``.
    """

    record_type = InspectionResult
    source = "inspections"
    factory = "inspection-risk"
    state_version = "2"
    supervised = True

    def __init__(
        self,
        *,
        name: str = "inspection-risk",
        version: str = "inspection-risk-v1",
        lr: PositiveFloat = 0.01,
        l2: NonNegativeFloat = 1e-4,
        threshold: Probability = 0.3,
        min_labels: AtLeastOne = 200,
        max_entities: AtLeastOne = 1_000_000,
        nearby_days: PositiveFloat = 90.0,
        cell_degrees: PositiveFloat = 0.01,
        seed: int = 42,
    ) -> None:
        super().__init__(name=name, version=version, params=locals())
        self.threshold = threshold
        self.min_labels = min_labels
        self.max_entities = max_entities
        self.seed = seed
        self.model = compose.Pipeline(
            preprocessing.StandardScaler(),
            linear_model.LogisticRegression(optimizer=optim.SGD(lr), l2=l2),
        )
        self.nearby_days = nearby_days
        self.cell_degrees = cell_degrees
        self.history: UnitHistory[dict[str, Any]] = UnitHistory()
        """Each entity's history, oldest first; a checkpoint writes the entries changed since
        the last one, not the whole history (models/unit_history.py)."""
        self.cells: dict[tuple[int, int], list[float]] = {}
        """Grid cell → days (epoch) of the complaints placed in it, ascending, pruned by age."""
        self.rates: UnitHistory[list[float]] = UnitHistory()
        """Past inspections and critical findings per inspector, facility type and area; as
        units too: one per inspector, they grow with the inspectors seen."""
        self.labels = 0

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A snapshot taken before unit records holds its history and rates as dicts."""
        self.__dict__.update(state)
        self.history = UnitHistory.of(self.history)
        self.rates = UnitHistory.of(self.rates)

    # ------------------------------------------------------------------ features

    def note_complaint(
        self,
        uscc: str | None,
        at: datetime,
        *,
        lat: float | None = None,
        lon: float | None = None,
    ) -> None:
        """Count a complaint: against its entity (USCC) and at its place (grid cell).

        The model runtime calls it for every complaint the worker sees; the place feeds the
        "complaints near the premises" feature of any inspection within one cell of it.
        """
        if uscc:
            h = self.history.setdefault(uscc, {})
            h["complaints"] = h.get("complaints", 0) + 1
            h.setdefault("complaints_since", at)
        if lat is None or lon is None:
            return
        day = at.timestamp() / 86400
        times = self.cells.setdefault(self._cell(lat, lon), [])
        bisect.insort(times, day)
        horizon = day - self.nearby_days
        if times[0] < horizon:
            del times[: bisect.bisect_left(times, horizon)]

    def _cell(self, lat: float, lon: float) -> tuple[int, int]:
        return (math.floor(lat / self.cell_degrees), math.floor(lon / self.cell_degrees))

    def nearby(self, lat: float | None, lon: float | None, at: datetime) -> int:
        """Complaints in the place's cell and the 8 around it over the last ``nearby_days``."""
        if lat is None or lon is None:
            return 0
        day = at.timestamp() / 86400
        ci, cj = self._cell(lat, lon)
        count = 0
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                times = self.cells.get((ci + di, cj + dj))
                if times:
                    lo = bisect.bisect_left(times, day - self.nearby_days)
                    count += bisect.bisect_right(times, day) - lo
        return count

    def features(self, record: InspectionResult) -> dict[str, float]:
        """History, neighbourhood and type features of the entity, as of just before this inspection."""
        h = self.history.get(record.uscc, {})
        n = h.get("n", 0)
        last = h.get("last_time")
        first = h.get("first_time")
        days = (record.event_time - last).total_seconds() / 86400 if last else 730.0
        known = (record.event_time - first).total_seconds() / 86400 if first else 0.0
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
            "years_known": min(max(known, 0.0), 3650.0) / 365.0,
            "log_complaints": math.log1p(h.get("complaints", 0)),
            "log_nearby_complaints": math.log1p(
                self.nearby(record.lat, record.lon, record.event_time)
            ),
            "risk_tier": float(record.risk_tier or 0),
        }
        for key in self._rate_keys(record):
            n_seen, found = self.rates.get(key, (0.0, 0.0))
            x[f"rate:{key.partition('=')[0]}"] = (found + 0.14 * 5) / (n_seen + 5)
        if record.risk_tier:
            x[f"risk_tier={record.risk_tier}"] = 1.0
        if record.facility_type:
            x[f"facility={record.facility_type}"] = 1.0
        if record.inspector_id:
            x[f"inspector={record.inspector_id}"] = 1.0
        return x

    def _rate_keys(self, record: InspectionResult) -> list[str]:
        """Groups whose past critical rate is a feature: inspector, facility type, area."""
        keys = [f"facility={record.facility_type or ''}"]
        if record.inspector_id:
            keys.append(f"inspector={record.inspector_id}")
        if record.lat is not None and record.lon is not None:
            i, j = self._cell(record.lat, record.lon)
            keys.append(f"area={i // 3},{j // 3}")
        return keys

    def _remember(self, record: InspectionResult) -> None:
        for key in self._rate_keys(record):
            counts = self.rates.setdefault(key, [0.0, 0.0])
            counts[0] += 1
            counts[1] += float(_critical(record))
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
        h.setdefault("first_time", record.event_time)
        while len(self.history) > self.max_entities:
            self.history.popitem(last=False)

    # ------------------------------------------------------------------ protocol

    @property
    def warmed_up(self) -> bool:
        """Alert only after ``min_labels`` labelled inspections; fewer teach too little."""
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

    def learn_label(self, features: Mapping[str, float], label: Label) -> None:
        """A later verdict on a warned entity: confirmed = a critical finding, else none."""
        verdict = confirmed(label)
        if verdict is None:
            return
        self.model.learn_one(dict(features), verdict)
        self.labels += 1


def _critical(record: InspectionResult) -> bool:
    """Did this inspection find a critical violation (count or listed violation)?"""
    return record.critical_count > 0 or any(
        v.severity == Severity.critical for v in record.violations
    )


InspectionParams = params_model(InspectionRisk)
"""What a publication of this factory may set: derived from ``__init__`` (models/factories.py)."""
