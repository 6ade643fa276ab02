"""Records that used to pass validation and then kill an agent, or slip in coerced.

Each hostile case is refused with a stable reason naming the field; the good payload next to
it still decodes. Built from the ``good`` payloads so only the hostile part differs.
"""

from __future__ import annotations

import doctest
import hashlib
import importlib
import json
from typing import TYPE_CHECKING, Any

import pytest

from schemas.codecs import encode_record
from schemas.errors import ValidationFailed
from schemas.ingest import IngestLimits, dead_letter, decode_source
from schemas.reasons import REASONS
from schemas.validation.strict import MAX_METRICS

from .conftest import NOW, good

if TYPE_CHECKING:
    from schemas.records import DeadLetter


def _raw(source: str, **patch: Any) -> bytes:
    payload = {**good(source), **patch}
    return json.dumps(payload).encode()


def _refused(source: str, raw: bytes) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        decode_source(source, raw, limits=IngestLimits(), now=NOW)
    assert info.value.reason in REASONS, info.value.reason
    str(info.value).encode("utf-8")  # the message itself can always be written out
    return info.value


HOSTILE: list[tuple[str, dict[str, Any], str, str]] = [
    # lone surrogates: JSON escapes carry them, UTF-8 cannot encode them
    ("complaints", {"text": "坏\ud800"}, "bad_text", "text"),
    ("complaints", {"category": "\ud800"}, "bad_text", "category"),
    ("inspections", {"entity_name": "某\udfff公司"}, "bad_text", "entity_name"),
    ("trucks", {"event_id": "g\ud800"}, "bad_text", "event_id"),
    ("equipment", {"metrics": {"p\ud800": 1.0}}, "bad_text", "metrics"),
    # numbers a float cannot hold, or whose sums overflow
    ("equipment", {"door_faults": 10**400}, "bad_value", "door_faults"),
    ("inspections", {"score": 10**400}, "bad_value", "score"),
    ("equipment", {"door_faults": 1e308}, "bad_value", "door_faults"),
    ("equipment", {"door_faults": 3.0}, "wrong_type", "door_faults"),
    (
        "equipment",
        {"metrics": {"door_faults": 1e308}, "units": {}},
        "bad_value",
        "metrics.door_faults",
    ),
    ("equipment", {"door_faults": 2_000_000}, "bad_value", "door_faults"),
    ("trucks", {"speed_kmh": 2**60}, "bad_value", "speed_kmh"),
    # silent coercion
    ("equipment", {"door_faults": "5"}, "wrong_type", "door_faults"),
    ("equipment", {"trapped": "yes"}, "wrong_type", "trapped"),
    ("equipment", {"trapped": 1}, "wrong_type", "trapped"),
    ("trucks", {"loaded": "true"}, "wrong_type", "loaded"),
    ("trucks", {"speed_kmh": "42"}, "wrong_type", "speed_kmh"),
    ("trucks", {"speed_kmh": True}, "wrong_type", "speed_kmh"),
    ("inspections", {"critical_count": 1.0}, "wrong_type", "critical_count"),
    ("equipment", {"metrics": {"pressure": "800"}, "units": {}}, "wrong_type", "metrics.pressure"),
    ("dispositions", {"evidence": [1]}, "wrong_type", "evidence.0"),
    # invisible characters in identifiers: never stripped, so ids cannot collide or split
    (
        "equipment",
        {"equipment_code": "3110\u200b3301002020000001"},
        "bad_identifier",
        "equipment_code",
    ),
    (
        "equipment",
        {"equipment_code": "31103301002020000001\ufeff"},
        "bad_identifier",
        "equipment_code",
    ),
    ("dispositions", {"event_id": "a\x00b"}, "bad_identifier", "event_id"),
    ("dispositions", {"task_id": "t-\u202e1"}, "bad_identifier", "task_id"),
    ("inspections", {"uscc": "91350100M000100Y43\x00"}, "bad_identifier", "uscc"),
    ("trucks", {"plate": "浙A\u200d12345"}, "bad_identifier", "plate"),
    ("inspections", {"entity_name": "杭州\u200b某某餐饮有限公司"}, "bad_identifier", "entity_name"),
    # bounded lengths
    ("trucks", {"event_id": "e" * 129}, "bad_identifier", "event_id"),
    ("inspections", {"entity_name": "名" * 513}, "bad_identifier", "entity_name"),
    ("complaints", {"text": "字" * 20_001}, "too_long", "text"),
    # metric names: bounded in number (model cost) and identifiers (keys of per-device state)
    (
        "equipment",
        {"metrics": {f"m{i}": 1.0 for i in range(MAX_METRICS + 1)}, "units": {}},
        "too_many_metrics",
        "metrics",
    ),
    ("equipment", {"rated": {f"m{i}": 1.0 for i in range(5_000)}}, "too_many_metrics", "rated"),
    (
        "equipment",
        {"units": {f"m{i}": "A" for i in range(MAX_METRICS + 1)}},
        "too_many_metrics",
        "units",
    ),
    ("equipment", {"metrics": {"current\x00": 1.0}, "units": {}}, "bad_identifier", "metrics"),
    ("equipment", {"metrics": {"m" * 129: 1.0}, "units": {}}, "bad_identifier", "metrics"),
    ("equipment", {"rated": {"p\u200b": 1.0}}, "bad_identifier", "rated"),
]


@pytest.mark.parametrize(("source", "patch", "reason", "field"), HOSTILE)
def test_hostile_value_is_refused(
    source: str, patch: dict[str, Any], reason: str, field: str
) -> None:
    exc = _refused(source, _raw(source, **patch))
    assert (exc.reason, exc.field) == (reason, field)


def test_values_at_the_bounds_are_accepted() -> None:
    ok = decode_source(
        "equipment",
        _raw("equipment", door_faults=1_000_000, event_id="e" * 128, trapped=True),
        limits=IngestLimits(),
        now=NOW,
    )
    assert ok.door_faults == 1_000_000
    fix = decode_source("trucks", _raw("trucks", speed_kmh=42), limits=IngestLimits(), now=NOW)
    assert fix.speed_kmh == 42.0  # an integer is a number: JSON has one number type
    text = decode_source(
        "complaints",
        _raw("complaints", text="a\tb\x00c" + "字" * 100),
        limits=IngestLimits(),
        now=NOW,
    )
    assert text.text.startswith("a\tbc")  # free text is still cleaned, not refused


def test_a_reading_of_max_metrics_names_is_accepted() -> None:
    names = {f"m{i}": float(i) for i in range(MAX_METRICS)}
    units = {name: "A" for name in names}
    ok = decode_source(
        "equipment",
        _raw("equipment", metrics=names, units=units, rated=names),
        limits=IngestLimits(),
        now=NOW,
    )
    assert len(ok.metrics) == len(ok.rated) == len(ok.units) == MAX_METRICS


def test_too_many_metrics_is_refused_before_any_name_is_looked_at() -> None:
    """The count comes first: 5,000 names with bad values still say what is wrong first."""
    names = {f"m{i}": "not a number" for i in range(5_000)}
    exc = _refused("equipment", _raw("equipment", metrics=names, units={}))
    assert (exc.reason, exc.field) == ("too_many_metrics", "metrics")
    assert str(MAX_METRICS) in exc.message


def test_duplicate_json_keys_are_refused() -> None:
    raw = b'{"event_id": "g1", "event_id": "g2", "event_time": "2024-05-01T19:30:00"}'
    exc = _refused("trucks", raw)
    assert exc.reason == "duplicate_key"
    assert "event_id" in exc.message


def test_duplicate_keys_are_refused_nested_too() -> None:
    body = json.dumps(good("equipment"))[:-1] + ', "metrics": {"pressure": 1.0, "pressure": 2.0}}'
    body = body.replace(
        '"metrics": {"pressure": 800.0, "temperature": 212.0, "current": 3.0}, ', ""
    )
    assert _refused("equipment", body.encode()).reason == "duplicate_key"


def test_three_huge_door_fault_readings_never_reach_a_window() -> None:
    for i in range(3):
        raw = _raw("equipment", event_id=f"e{i}", metrics={"door_faults": 1e308}, units={})
        assert _refused("equipment", raw).reason == "bad_value"


@pytest.mark.parametrize(
    "name",
    [
        "schemas.validation.strict",
        "schemas.validation.text",
        "schemas.ingest",
        "schemas.avro_check",
    ],
)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0


# ---------------------------------------------------------------- dead letters stay sendable

BROKER_MAX = 1_000_000  # Kafka's default message.max.bytes


def _letter(exc: BaseException, payload: bytes, key: bytes | None = b"k") -> DeadLetter:
    return dead_letter(exc, source="trucks", topic="trucks.gps", key=key, payload=payload, now=NOW)


@pytest.mark.parametrize("size", [800_000, 1_000_001, 5_000_000])
def test_a_dead_letter_always_fits_the_broker(size: int) -> None:
    payload = b'{"event_id": "' + b"x" * size + b'"'
    dl = _letter(ValidationFailed("bad_json", "invalid JSON"), payload)
    assert len(dl.model_dump_json().encode()) < BROKER_MAX
    assert dl.payload == payload[: len(dl.payload)]  # a prefix of the original
    assert hashlib.sha256(payload).hexdigest() in dl.message
    assert f"of {len(payload)} bytes" in dl.message


def test_a_small_dead_letter_keeps_every_byte() -> None:
    dl = _letter(ValidationFailed("bad_json", "invalid JSON"), b"{oops")
    assert dl.payload == b"{oops"
    assert "truncated" not in dl.message


def test_a_dead_letter_of_hostile_text_encodes() -> None:
    exc = ValidationFailed("extra_field", "no field '\ud800'" + "y" * 10_000, "\ud800" * 500)
    dl = _letter(exc, b"{}", key=b"k" * 100_000)
    out = dl.model_dump_json().encode("utf-8")
    assert len(out) < 20_000
    assert len(dl.key or b"") == 4096


# ---------------------------------------------------------------- Avro indices


def _first_difference(a: bytes, b: bytes) -> int:
    return next(i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y)


def _avro(source: str, **patch: Any) -> bytes:
    record = decode_source(source, _raw(source, **patch), limits=IngestLimits(), now=NOW)
    return encode_record(record, "avro")


def test_an_avro_enum_index_of_minus_one_is_refused() -> None:
    first, last = _avro("inspections", outcome="pass"), _avro("inspections", outcome="rectify")
    at = _first_difference(first, last)
    assert (first[at], last[at]) == (0x00, 0x04)  # zigzag indices 0 and 2
    hostile = last[:at] + b"\x01" + last[at + 1 :]  # zigzag −1, which Python reads as "last"
    exc = _refused("inspections", hostile)
    assert exc.reason == "bad_avro"
    assert "enum index -1" in exc.message


def test_an_avro_union_index_out_of_range_is_refused() -> None:
    null, empty = _avro("complaints", subject=None), _avro("complaints", subject="主题")
    at = _first_difference(null, empty)
    assert null[at] == 0x00  # branch 0: null
    hostile = null[:at] + b"\x03" + null[at + 1 :]  # branch −2, which Python reads as "null"
    exc = _refused("complaints", hostile)
    assert exc.reason == "bad_avro"
    assert "union index -2" in exc.message


def test_an_avro_array_claiming_more_items_than_bytes_is_refused() -> None:
    """A guard, not a regression: fastavro hits the end of these bytes too; with zero-size
    items it would not, and the walk refuses the count before any item is read."""
    raw = _avro("dispositions", evidence=["a"])
    at = raw.index(b"\x02\x02a\x00")  # one item, the string "a", end of blocks
    hostile = raw[:at] + b"\xfe\xff\xff\xff\x0f" + raw[at + 1 :]  # 2**31 - 1 items
    assert _refused("dispositions", hostile).reason == "bad_avro"
