"""The catalogue of model factories: named, versioned, one or more per source.

A factory is code we ship. A publication (models/publication.py) only names a factory and gives
JSON parameters, which the factory's pydantic params model validates: nobody can publish code.
``version`` is the factory's *state* version: snapshots taken under one version can only be
restored by a factory with the same name and version (models/snapshot.py).

>>> sorted(f.name for f in factories())
['complaint-classifier', 'equipment-anomaly', 'inspection-risk', 'truck-behaviour']
>>> create("equipment-anomaly", {"warmup": 10}).warmup
10
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from models.complaints import ComplaintClassifier, ComplaintParams
from models.equipment import EquipmentAnomaly, EquipmentParams
from models.errors import ModelError, UnknownFactory
from models.inspections import InspectionParams, InspectionRisk
from models.trucks import TruckBehaviour, TruckParams
from schemas.problems import readable

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from models.base import SourceModel

_PROBE_TIME = datetime(2024, 1, 1, tzinfo=UTC)

PROBES: dict[str, dict[str, Any]] = {
    "equipment": {
        "event_id": "probe",
        "event_time": _PROBE_TIME,
        "equipment_code": "PROBE",
        "equipment_type": "elevator",
        "uscc": "91110000100000000X",
        "metrics": {"current": 10.0, "speed": 1.0, "vibration": 0.1},
    },
    "complaints": {
        "event_id": "probe",
        "event_time": _PROBE_TIME,
        "channel": "12345",
        "text": "小区电梯经常困人，请尽快处理",
    },
    "inspections": {
        "event_id": "probe",
        "event_time": _PROBE_TIME,
        "uscc": "91110000100000000X",
        "entity_name": "探针企业",
        "region_code": "110000",
        "outcome": "pass",
        "risk_tier": 2,
        "facility_type": "Restaurant",
    },
    "trucks": {
        "event_id": "probe",
        "event_time": _PROBE_TIME,
        "plate": "京A12345",
        "lat": 39.9,
        "lon": 116.4,
        "speed_kmh": 30.0,
    },
}
"""One valid event per source: every build is validated by scoring it (see ``build``)."""


@dataclass(frozen=True)
class Factory:
    """A named, versioned way to build a model for one source."""

    name: str
    source: str
    version: str
    params_model: type[BaseModel]
    build: Callable[..., SourceModel]
    description: str

    def default_version(self) -> str:
        """The version a build gets when none is given: factory name and factory version."""
        return f"{self.name}-v{self.version}"


_FACTORIES: dict[str, Factory] = {}


def register(factory: Factory) -> Factory:
    """Add a factory (River-style small registry); the same name twice is a mistake."""
    if factory.name in _FACTORIES and _FACTORIES[factory.name] != factory:
        raise ModelError(f"a different factory named {factory.name!r} is already registered")
    _FACTORIES[factory.name] = factory
    return factory


def factories() -> list[Factory]:
    """All registered factories, in registration order."""
    return list(_FACTORIES.values())


def get_factory(name: str) -> Factory:
    """The factory called ``name``; ``UnknownFactory`` lists the registered ones."""
    try:
        return _FACTORIES[name]
    except KeyError:
        known = ", ".join(sorted(_FACTORIES))
        raise UnknownFactory(f"no model factory {name!r}; registered: {known}") from None


def default_factory(source: str) -> Factory:
    """The first factory registered for a source (what a worker runs by default)."""
    for f in _FACTORIES.values():
        if f.source == source:
            return f
    raise UnknownFactory(f"no model factory for source {source!r}")


def create(
    factory: str,
    params: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    version: str | None = None,
) -> SourceModel:
    """Build a fresh model from a factory name and JSON-like params (validated, typed)."""
    f = get_factory(factory)
    try:
        checked = f.params_model.model_validate(dict(params or {}))
    except ValidationError as exc:
        raise ModelError(
            f"bad params for model factory {factory!r}: "
            f"{readable(exc, f.params_model.model_fields)}"
        ) from exc
    return f.build(
        name=name or f.name, version=version or f.default_version(), **checked.model_dump()
    )


for _factory in (
    Factory(
        "equipment-anomaly",
        "equipment",
        EquipmentAnomaly.state_version,
        EquipmentParams,
        EquipmentAnomaly,
        "online Mahalanobis on EWMA-smoothed metrics, per unit; quantile threshold per unit",
    ),
    Factory(
        "complaint-classifier",
        "complaints",
        ComplaintClassifier.state_version,
        ComplaintParams,
        ComplaintClassifier,
        "character 1–3-grams + jieba words, weighted subject, taxonomy priors → complement naive Bayes; "
        "category + P(urgent)",
    ),
    Factory(
        "inspection-risk",
        "inspections",
        InspectionRisk.state_version,
        InspectionParams,
        InspectionRisk,
        "history, complaints nearby, inspector/type/area rates → logistic regression; "
        "P(next inspection finds a critical violation)",
    ),
    Factory(
        "truck-behaviour",
        "trucks",
        TruckBehaviour.state_version,
        TruckParams,
        TruckBehaviour,
        "per-plate speed / stop / GPS-jump anomaly (online Mahalanobis)",
    ),
):
    register(_factory)
