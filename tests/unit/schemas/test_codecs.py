"""Wire formats: JSON and Confluent Avro round trips, sniffing, catalogue ids, evolution."""

from __future__ import annotations

import io
import json
import shutil
import struct
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.catalogue import LocalCatalogue, RegistryCatalogue, catalogue_for, parse_avsc
from schemas.codecs import decode_payload, decode_record, encode_record, is_avro
from schemas.errors import ConfigError, ValidationFailed
from schemas.record_specs import AVRO_DIR, RECORDS
from schemas.records import DeadLetter, Disposition, EquipmentReading, EquipmentType, Record, Task

from .strategies import for_model

if TYPE_CHECKING:
    from pathlib import Path

MODELS = [spec.model for spec in RECORDS.values()]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip_both_formats(model: type[Record], data: st.DataObject) -> None:
    record = data.draw(for_model(model))
    for fmt in ("json", "avro"):
        raw = encode_record(record, fmt)
        assert is_avro(raw) == (fmt == "avro")
        assert decode_record(raw, model) == record


def test_avro_frame_is_confluent_wire_format() -> None:
    reading = EquipmentReading(
        event_id="e1",
        event_time=datetime(2024, 1, 1, tzinfo=UTC),
        equipment_code="31103301002020000001",
        equipment_type=EquipmentType.elevator,
        uscc="91350100M000100Y43",
    )
    raw = encode_record(reading, "avro")
    magic, schema_id = struct.unpack(">bI", raw[:5])
    cat = LocalCatalogue()
    assert magic == 0
    assert schema_id == cat.writer_id("riskloop.EquipmentReading")
    body = fastavro.schemaless_reader(
        io.BytesIO(raw[5:]), cat.reader_schema("riskloop.EquipmentReading")
    )
    assert body["equipment_code"] == "31103301002020000001"


def test_dead_letter_bytes_survive_json_even_when_not_utf8() -> None:
    dl = DeadLetter(
        reason="bad_encoding",
        message="m",
        source="trucks",
        topic="trucks.gps",
        key=b"\xff\x00",
        payload=b"\xff\xfe\x80",
        rejected_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    raw = encode_record(dl, "json")
    json.loads(raw)  # valid JSON text
    assert decode_record(raw, DeadLetter) == dl


def test_v1_record_is_read_with_the_current_schema() -> None:
    """Schema evolution: a reading written by a v1 producer (no ``rated``) still decodes."""
    table = json.loads((AVRO_DIR / "ids.json").read_text())["riskloop.EquipmentReading"]
    v1 = table["1"]
    writer = parse_avsc((AVRO_DIR / v1["file"]).read_text())
    assert "rated" not in {f["name"] for f in writer["fields"]}
    datum = {
        "event_id": "old-1",
        "event_time": datetime(2023, 6, 1, 12, tzinfo=UTC),
        "equipment_code": "EQ-1",
        "equipment_type": "boiler",
        "uscc": "91350100M000100Y43",
        "region_code": None,
        "metrics": {"pressure": 0.8},
        "units": {"pressure": "MPa"},
        "door_faults": 0,
        "trapped": False,
    }
    out = io.BytesIO()
    out.write(struct.pack(">bI", 0, v1["id"]))
    fastavro.schemaless_writer(out, writer, datum)
    record = decode_record(out.getvalue(), EquipmentReading)
    assert record.rated == {}
    assert record.metrics == {"pressure": 0.8}
    assert record.event_time == datetime(2023, 6, 1, 12, tzinfo=UTC)


def test_a_v3_disposition_is_read_without_a_category() -> None:
    """A disposition written before category corrections (v3, id 20) reads with none."""
    v3 = json.loads((AVRO_DIR / "ids.json").read_text())["riskloop.Disposition"]["3"]
    writer = parse_avsc((AVRO_DIR / v3["file"]).read_text())
    assert v3["id"] == 20
    assert "category" not in {f["name"] for f in writer["fields"]}
    datum = {
        "event_id": "d-old",
        "event_time": datetime(2026, 12, 1, 8, tzinfo=UTC),
        "task_id": "t-1",
        "department": "hz_market",
        "action": "dispose",
        "actor": "李明",
        "result": "confirmed",
        "reason": None,
        "evidence": ["photo:1"],
        "assign_to": None,
        "extend_to": None,
    }
    out = io.BytesIO()
    out.write(struct.pack(">bI", 0, v3["id"]))
    fastavro.schemaless_writer(out, writer, datum)
    record = decode_record(out.getvalue(), Disposition)
    assert record.category is None
    assert record.evidence == ["photo:1"]


def test_a_v5_task_is_read_without_a_source() -> None:
    """A task written before it carried its warning's source (v5, id 28) reads with none, and
    the current writer (v6) keeps the source through the wire."""
    from tests.unit.sinks.factories import make_task

    v5 = json.loads((AVRO_DIR / "ids.json").read_text())["riskloop.Task"]["5"]
    writer = parse_avsc((AVRO_DIR / v5["file"]).read_text())
    assert v5["id"] == 28
    assert "source" not in {f["name"] for f in writer["fields"]}
    task = make_task(3, source="equipment")
    datum = {k: v for k, v in task.model_dump().items() if k != "source"}
    datum |= {k: v.value for k, v in datum.items() if hasattr(v, "value")}  # enums as symbols
    out = io.BytesIO()
    out.write(struct.pack(">bI", 0, v5["id"]))
    fastavro.schemaless_writer(out, writer, datum)
    old = decode_record(out.getvalue(), Task)
    assert old.source is None
    assert old == task.model_copy(update={"source": None})
    assert decode_record(encode_record(task, "avro"), Task).source == "equipment"


def test_json_and_avro_sniffed_on_one_topic() -> None:
    assert decode_payload(b'{"a": 1}').format == "json"
    raw = encode_record(
        EquipmentReading(
            event_id="e",
            event_time=datetime(2024, 1, 1, tzinfo=UTC),
            equipment_code="X",
            equipment_type=EquipmentType.crane,
            uscc="91350100M000100Y43",
        ),
        "avro",
    )
    decoded = decode_payload(raw)
    assert (decoded.format, decoded.subject) == ("avro", "riskloop.EquipmentReading")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "bad_encoding"),
        (b"\xff{}", "bad_encoding"),
        (b"[1, 2]", "bad_json"),
        (b"{", "bad_json"),
        (b"\x00\x00\x00", "bad_avro"),
        (b"\x00\x00\x00\x27\x0f\x02", "unknown_schema"),
        (b"[" * 100_000, "bad_json"),
    ],
)
def test_decode_payload_failures(raw: bytes, reason: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        decode_payload(raw)
    assert info.value.reason == reason


def test_trailing_bytes_after_avro_body_are_refused() -> None:
    raw = encode_record(
        DeadLetter(
            reason="r",
            message="m",
            source="s",
            topic="t",
            payload=b"",
            rejected_at=datetime(2024, 1, 1, tzinfo=UTC),
        ),
        "avro",
    )
    with pytest.raises(ValidationFailed, match="trailing"):
        decode_payload(raw + b"\x00")


def test_record_of_another_type_is_refused() -> None:
    raw = encode_record(
        DeadLetter(
            reason="r",
            message="m",
            source="s",
            topic="t",
            payload=b"",
            rejected_at=datetime(2024, 1, 1, tzinfo=UTC),
        ),
        "avro",
    )
    with pytest.raises(ValidationFailed) as info:
        decode_record(raw, EquipmentReading)
    assert info.value.reason == "unknown_schema"


def test_editing_a_published_version_is_caught(tmp_path: Path) -> None:
    copy = tmp_path / "avro"
    shutil.copytree(AVRO_DIR, copy)
    path = copy / "truck_fix.avsc"
    schema = json.loads(path.read_text())
    schema["fields"] = [f for f in schema["fields"] if f["name"] != "heading"]
    path.write_text(json.dumps(schema))
    with pytest.raises(ConfigError, match="immutable"):
        LocalCatalogue(copy)


def test_docs_can_change_without_a_new_version(tmp_path: Path) -> None:
    copy = tmp_path / "avro"
    shutil.copytree(AVRO_DIR, copy)
    path = copy / "truck_fix.avsc"
    schema = json.loads(path.read_text())
    schema["doc"] = "reworded"
    path.write_text(json.dumps(schema))
    assert LocalCatalogue(copy).writer_id("riskloop.TruckFix") == LocalCatalogue().writer_id(
        "riskloop.TruckFix"
    )


def test_unknown_wire_format_is_a_config_error() -> None:
    rec = DeadLetter(
        reason="r",
        message="m",
        source="s",
        topic="t",
        payload=b"",
        rejected_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    with pytest.raises(ConfigError):
        encode_record(rec, "xml")


class _FakeRegistry:
    """Stands in for SchemaRegistryClient: the real one is not exercised (no registry here)."""

    def __init__(self) -> None:
        self.schemas: dict[int, str] = {}

    def register_schema(self, subject: str, schema) -> int:
        schema_id = 100 + len(self.schemas)
        self.schemas[schema_id] = schema.schema_str
        return schema_id

    def get_schema(self, schema_id: int):
        from confluent_kafka.schema_registry import Schema

        return Schema(self.schemas[schema_id], "AVRO")


def test_registry_catalogue_round_trip_with_a_fake_client() -> None:
    cat = RegistryCatalogue("http://registry.invalid", client=_FakeRegistry())
    rec = DeadLetter(
        reason="r",
        message="m",
        source="s",
        topic="t",
        payload=b"\x01",
        rejected_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    raw = encode_record(rec, "avro", cat)
    assert struct.unpack(">I", raw[1:5])[0] == 100
    assert decode_record(raw, DeadLetter, cat) == rec


def test_catalogue_for_picks_by_url() -> None:
    assert isinstance(catalogue_for(None), LocalCatalogue)
    assert isinstance(catalogue_for("http://x:8081"), RegistryCatalogue)
