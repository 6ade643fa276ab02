"""The source catalogue: one :class:`SourceSpec` per ingest source, the one table every
consumer derives its view from.

The ingest decoder (``schemas/ingest.py``), the rule sources (``rules/sources.py``), the replay
keys (``streams/replay.py``), the topic settings and declarations (``config/settings.py``,
``streams/topics.py``), the profile kinds (``loop/decide/profiles.py``) and the mapping files
(``schemas/mapping.py``) all read this table, so adding a source is one entry here and one
record in ``schemas/records.py`` rather than an edit in every one of them. It lives in
``schemas/``, the bottom layer, because all of them may import it and it imports none of them.

Two keys, on purpose: ``key_fields`` make the Kafka key a producer gives a record (murmur2 puts
one key on one partition), ``entity_fields`` name the subject a rule keeps its window and
warning under when the rule does not say. They differ for complaints: a complaint without a USCC
is keyed by its id, but its rules follow its address, and the worker re-keys it to the
address's partition (``streams/rekey.py``).

>>> SOURCE_SPECS["trucks"].record.__name__, SOURCE_SPECS["trucks"].uscc_field
('TruckFix', 'company_uscc')
>>> SOURCE_SPECS["complaints"].entity_fields
('uscc', 'address', 'event_id')
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from schemas.records import Complaint, EquipmentReading, InspectionResult, SourceRecord, TruckFix

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class SourceSpec:
    """One ingest source: its record, its topic, how it is keyed and whom its events concern."""

    name: str
    """The source's name: rule packs, metrics, silences and ``--source`` use it."""
    record: type[SourceRecord]
    """The validated record its topic carries (``schemas/records.py``)."""
    topic: str
    """Default topic name (a ``TopicSettings`` field of the same name overrides it)."""
    key_fields: tuple[str, ...]
    """Record fields tried in order for the Kafka key (first non-empty wins)."""
    entity_fields: tuple[str, ...]
    """Fields naming a hit's subject when a rule does not say (first non-empty wins)."""
    uscc_field: str | None
    """The field holding the enterprise's USCC (for alerts and profiles), if any."""
    label: str
    """Its Chinese name in the console and the reports (UI text only)."""
    profile_kind: str | None = None
    """What an event becomes in its enterprise's profile (一企一档); None: it does not enter."""


def _table(*specs: SourceSpec) -> Mapping[str, SourceSpec]:
    return MappingProxyType({spec.name: spec for spec in specs})


SOURCE_SPECS: Mapping[str, SourceSpec] = _table(
    SourceSpec(
        name="inspections",
        record=InspectionResult,
        topic="inspections.results",
        key_fields=("uscc",),
        entity_fields=("uscc",),
        uscc_field="uscc",
        label="检查结果",
        profile_kind="inspection",
    ),
    SourceSpec(
        name="complaints",
        record=Complaint,
        topic="complaints.received",
        key_fields=("uscc", "event_id"),
        entity_fields=("uscc", "address", "event_id"),
        uscc_field="uscc",
        label="投诉举报",
        profile_kind="complaint",
    ),
    SourceSpec(
        name="equipment",
        record=EquipmentReading,
        topic="equipment.readings",
        key_fields=("equipment_code",),
        entity_fields=("equipment_code",),
        uscc_field="uscc",
        label="特种设备",
    ),
    SourceSpec(
        name="trucks",
        record=TruckFix,
        topic="trucks.gps",
        key_fields=("plate",),
        entity_fields=("plate",),
        uscc_field="company_uscc",
        label="渣土车",
    ),
)
"""Source name → spec, in the order topics are declared and agents registered."""

DERIVED_SOURCE = "truck_detections"
"""The one rule source no topic carries: the geo module's detections, derived from ``trucks``."""

RULE_SOURCES: tuple[str, ...] = (*SOURCE_SPECS, DERIVED_SOURCE)
"""Every source a rule may name and a warning may come from: the ingest sources, in this
table's order, and the derived one. Routing and silences check labels against it."""
