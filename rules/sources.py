"""What each source's events look like to a rule: field names, types, probes, keys.

The field sets come from the pydantic models of ``schemas/records.py`` (the shared contract),
plus :class:`TruckDetection` for the geo module's derived events, so a pack that names a field
the data standard does not have fails at load, not at three in the morning.

>>> "critical_count" in field_names("inspections")
True
>>> probe_event("equipment", {"metrics": {"pressure"}})["metrics"]
{'pressure': 1.5}
"""

from __future__ import annotations

import types
import typing
from datetime import datetime
from enum import Enum, StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema

from schemas.records import Record
from schemas.sources import DERIVED_SOURCE, RULE_SOURCES, SOURCE_SPECS

if typing.TYPE_CHECKING:
    from collections.abc import Mapping


class DetectionKind(StrEnum):
    """The geo module's detection kinds, mirrored from ``geo.detection`` (rules/ may not
    import geo/). A closed set, so a pack comparing ``kind`` with a misspelt kind is refused at
    load (``rules.values``), not silent at run time.
    """

    fence_enter = "fence_enter"
    fence_exit = "fence_exit"
    fence_dwell = "fence_dwell"
    overspeed = "overspeed"
    suspected_dumping = "suspected_dumping"
    route_deviation = "route_deviation"
    banned_zone = "banned_zone"
    banned_hours = "banned_hours"
    silent = "silent"


class TruckDetection(Record):
    """A derived muck-truck event from the geo module (``truck_detections``).

    Mirrored here (rules/ may not import geo/) from the field list the geo module publishes;
    it types probes and example events only, the engine itself never validates events.
    """

    event_id: str
    event_time: datetime
    plate: str
    kind: DetectionKind
    fence_id: str | None = None
    fence_kind: str | None = None
    duration_s: float | None = None
    max_speed_kmh: float | None = None
    limit_kmh: float | None = None
    distance_m: float | None = None
    lat: float | None = None
    lon: float | None = None
    company_uscc: str | None = None
    region_code: str | None = None
    evidence: list[str] = Field(default_factory=list)


SOURCE_MODELS: Mapping[str, type[BaseModel]] = types.MappingProxyType(
    {
        **{name: spec.record for name, spec in SOURCE_SPECS.items()},
        DERIVED_SOURCE: TruckDetection,
    }
)
"""Rule source → the model its events follow: every ingest source and the derived one."""

DEFAULT_ENTITY: Mapping[str, tuple[str, ...]] = types.MappingProxyType(
    {
        **{name: spec.entity_fields for name, spec in SOURCE_SPECS.items()},
        DERIVED_SOURCE: ("plate",),
    }
)
"""Which field names the subject of a hit when a rule does not say (first non-empty wins)."""

USCC_FIELD: Mapping[str, str | None] = types.MappingProxyType(
    {
        **{name: spec.uscc_field for name, spec in SOURCE_SPECS.items()},
        DERIVED_SOURCE: "company_uscc",
    }
)
"""Which field of a source's events holds the enterprise's USCC (None: none does)."""


def _known_source(name: str) -> str:
    if name not in SOURCE_MODELS:
        raise ValueError(f"unknown source {name!r}; expected one of {', '.join(RULE_SOURCES)}")
    return name


SourceName = Annotated[
    str,
    AfterValidator(_known_source),
    WithJsonSchema({"type": "string", "enum": list(RULE_SOURCES)}),
]
"""A rule source's name, checked against the catalogue when a pack loads."""

# Neutral values for required fields, so examples only spell out what matters to the rule.
_EXAMPLE_REQUIRED: Mapping[str, Mapping[str, Any]] = types.MappingProxyType(
    {
        "inspections": {
            "uscc": "91110108MA01ABCD2X",
            "entity_name": "示例餐饮有限公司",
            "region_code": "110108",
            "outcome": "pass",
        },
        "complaints": {"channel": "12345", "text": "咨询营业时间"},
        "equipment": {
            "equipment_code": "31101101082024000001",
            "equipment_type": "elevator",
            "uscc": "91110108MA01ABCD2X",
        },
        "trucks": {"plate": "京A12345", "lat": 39.9, "lon": 116.4},
        "truck_detections": {"plate": "京A12345", "kind": "fence_enter"},
    }
)


def field_types(source: str) -> dict[str, Any]:
    """Field name → annotation of a source's events."""
    return {name: f.annotation for name, f in SOURCE_MODELS[source].model_fields.items()}


def field_names(source: str) -> frozenset[str]:
    """The top-level field names of a source's events."""
    return frozenset(SOURCE_MODELS[source].model_fields)


def is_mapping_field(source: str, name: str) -> bool:
    """Whether ``event.<name>`` is a map whose keys rules may name freely (``metrics.pressure``)."""
    return typing.get_origin(_strip_optional(field_types(source).get(name))) is dict


def _strip_optional(annotation: Any) -> Any:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def probe_value(annotation: Any, keys: frozenset[str] = frozenset()) -> Any:
    """A JSON value of the annotation's type (as ``model_dump(mode="json")`` would give).

    ``keys`` fills a ``dict[str, X]`` with the keys a rule names, since a probe map cannot
    hold every key.
    """
    annotation = _strip_optional(annotation)
    origin = typing.get_origin(annotation)
    if origin is list:
        (item,) = typing.get_args(annotation) or (str,)
        return [probe_value(item)]
    if origin is dict:
        _, value = typing.get_args(annotation) or (str, str)
        return {k: probe_value(value) for k in sorted(keys)}
    if origin is Literal:
        return typing.get_args(annotation)[0]
    if isinstance(annotation, type):
        if issubclass(annotation, Enum):
            return next(iter(annotation)).value
        if issubclass(annotation, BaseModel):
            return {n: probe_value(f.annotation) for n, f in annotation.model_fields.items()}
        if issubclass(annotation, bool):
            return True
        if issubclass(annotation, int):
            return 1
        if issubclass(annotation, float):
            return 1.5
        if issubclass(annotation, datetime):
            return "2024-01-01T00:00:00Z"
        if issubclass(annotation, bytes):
            return "probe"
    return "probe"


def probe_event(source: str, map_keys: Mapping[str, set[str]] | None = None) -> dict[str, Any]:
    """A typed probe event of ``source``: every field present, none null.

    Conditions are evaluated against it at load, so ``event.critical_count > "x"`` fails
    there with the rule's name rather than silently never firing in production.
    """
    map_keys = map_keys or {}
    return {
        name: probe_value(annotation, frozenset(map_keys.get(name, ())))
        for name, annotation in field_types(source).items()
    }


def example_event(source: str, partial: Mapping[str, Any], event_id: str, event_time: str) -> dict:
    """A complete, validated event from an example's few fields, as the engine would see it.

    Raises pydantic's ``ValidationError`` when the example names a field the source lacks or
    gives a value of the wrong type: examples are held to the same contract as live data.
    """
    data: dict[str, Any] = {"event_id": event_id, "event_time": event_time}
    data.update(_EXAMPLE_REQUIRED.get(source, {}))
    data.update(partial)
    model = SOURCE_MODELS[source].model_validate(data)
    return model.model_dump(mode="json")
