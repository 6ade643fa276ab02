"""Which pydantic model mirrors which Avro schema: the one table every codec and test reads.

A record's *subject* is its Avro full name (``riskloop.InspectionResult``): one record type can
travel on several topics (``tasks.<department>``), so subjects follow the record, not the topic
(Confluent's RecordNameStrategy).

>>> RECORDS["riskloop.TruckFix"].model.__name__
'TruckFix'
>>> subject_of(TruckFix)
'riskloop.TruckFix'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from schemas.internal import ProfileEvent, TaskFeedback, Tick
from schemas.records import (
    Alert,
    Complaint,
    DeadLetter,
    Disposition,
    EquipmentReading,
    InspectionResult,
    Record,
    RulePackPublication,
    SourceRecord,
    SupervisionEvent,
    Task,
    TaskEvent,
    TruckFix,
)
from schemas.sources import SOURCE_SPECS

AVRO_DIR = Path(__file__).resolve().parent / "avro"
"""Current schemas; ``history/`` keeps earlier versions that old messages were written with."""

NAMESPACE = "riskloop"


@dataclass(frozen=True)
class RecordSpec:
    """One record type: its model, its current ``.avsc`` file and its subject."""

    model: type[Record]
    avsc: Path

    @property
    def subject(self) -> str:
        """``riskloop.<Model>``: the subject under which ids are kept in ``ids.json`` or
        registered (a record's Avro full name).
        """
        return f"{NAMESPACE}.{self.model.__name__}"


def _spec(model: type[Record], stem: str) -> RecordSpec:
    return RecordSpec(model, AVRO_DIR / f"{stem}.avsc")


RECORDS: dict[str, RecordSpec] = {
    spec.subject: spec
    for spec in (
        _spec(InspectionResult, "inspection_result"),
        _spec(Complaint, "complaint"),
        _spec(EquipmentReading, "equipment_reading"),
        _spec(TruckFix, "truck_fix"),
        _spec(Disposition, "disposition"),
        _spec(Alert, "alert"),
        _spec(Task, "task"),
        _spec(TaskEvent, "task_event"),
        _spec(SupervisionEvent, "supervision_event"),
        _spec(RulePackPublication, "rule_pack_publication"),
        _spec(DeadLetter, "dead_letter"),
        _spec(TaskFeedback, "task_feedback"),
        _spec(ProfileEvent, "profile_event"),
        _spec(Tick, "tick"),
    )
}
"""Subject → spec for every record that crosses a topic."""

SOURCES: dict[str, type[SourceRecord]] = {
    **{name: spec.record for name, spec in SOURCE_SPECS.items()},
    "dispositions": Disposition,
}
"""Ingest source name → the record it carries: every ``schemas.sources.SOURCE_SPECS`` entry
(the names of ``Settings.topics.sources()``) and the departments' dispositions."""


def subject_of(model: type[Record]) -> str:
    """The subject (Avro full name) of a model class."""
    return f"{NAMESPACE}.{model.__name__}"
