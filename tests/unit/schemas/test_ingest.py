"""decode_source: good records normalised per source, and one test per reason code."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas.codecs import encode_record
from schemas.errors import ValidationFailed
from schemas.ingest import IngestLimits, dead_letter, decode_source
from schemas.reasons import REASONS
from schemas.record_specs import SOURCES
from schemas.records import Complaint, EquipmentReading, InspectionResult, TruckFix
from schemas.validation.crs import gcj02_to_wgs84

from .conftest import NOW, good


def _decode(
    source: str,
    payload: dict[str, Any] | bytes,
    limits: IngestLimits | None = None,
    now: datetime = NOW,
):
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return decode_source(source, raw, limits=limits or IngestLimits(), now=now)


def _reason(source: str, payload: dict[str, Any] | bytes, **kw: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        _decode(source, payload, **kw)
    assert info.value.reason in REASONS, info.value.reason
    return info.value


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_good_payload_decodes_in_json_and_avro(source: str) -> None:
    record = _decode(source, good(source))
    assert isinstance(record, SOURCES[source])
    assert record.event_time == datetime(2024, 5, 1, 11, 30, tzinfo=UTC)
    again = decode_source(source, encode_record(record, "avro"), limits=IngestLimits(), now=NOW)
    assert again == record  # normalising a normalised record changes nothing


def test_inspection_is_normalised() -> None:
    r = _decode("inspections", good("inspections"))
    assert isinstance(r, InspectionResult)
    assert r.entity_name == "杭州某某餐饮有限公司"
    assert r.violations[0].description == "冷藏温度超标"
    assert (r.lat, r.lon) == gcj02_to_wgs84(30.27, 120.15)
    assert r.crs == "WGS84"


def test_complaint_is_masked_and_trimmed() -> None:
    r = _decode("complaints", good("complaints"))
    assert isinstance(r, Complaint)
    assert r.text == "餐馆后厨脏乱,联系我138****5678"
    assert r.complainant_phone == "138****5678"
    assert r.complainant_id == "1101**********1234"
    assert r.uscc is None  # blank optional USCC is absent, not invalid


def test_equipment_units_are_canonical() -> None:
    r = _decode("equipment", good("equipment"))
    assert isinstance(r, EquipmentReading)
    assert math.isclose(r.metrics["pressure"], 0.8)
    assert math.isclose(r.metrics["temperature"], 100.0)
    assert math.isclose(r.rated["pressure"], 1.0)
    assert r.units == {"pressure": "MPa", "temperature": "°C", "current": "A"}


def test_truck_plate_is_normalised() -> None:
    r = _decode("trucks", good("trucks"))
    assert isinstance(r, TruckFix)
    assert r.plate == "浙A12345"


def spoil(source: str, **changes: Any) -> dict[str, Any]:
    d = good(source)
    for k, v in changes.items():
        if v is DROP:
            d.pop(k)
        else:
            d[k] = v
    return d


DROP = object()

CASES = [
    ("inspections", spoil("inspections", uscc=DROP), "missing_field", "uscc"),
    ("inspections", spoil("inspections", uscc=None), "missing_field", "uscc"),
    ("inspections", spoil("inspections", colour="red"), "extra_field", "colour"),
    ("inspections", spoil("inspections", uscc="91350100M000100Y44"), "bad_uscc", "uscc"),
    ("inspections", spoil("inspections", region_code="990100"), "bad_region", "region_code"),
    ("inspections", spoil("inspections", outcome="maybe"), "bad_value", "outcome"),
    ("inspections", spoil("inspections", critical_count=-1), "bad_value", "critical_count"),
    ("inspections", spoil("inspections", critical_count="many"), "wrong_type", "critical_count"),
    ("inspections", spoil("inspections", entity_name="\u3000 "), "bad_value", "entity_name"),
    ("inspections", spoil("inspections", entity_name=42), "wrong_type", "entity_name"),
    ("inspections", spoil("inspections", lat=DROP), "bad_coordinates", "lat"),
    ("inspections", spoil("inspections", lat=95.0), "bad_coordinates", "lat"),
    ("inspections", spoil("inspections", crs="BD09"), "bad_crs", "crs"),
    (
        "inspections",
        spoil("inspections", violations=[{"code": "V", "severity": "awful"}]),
        "bad_value",
        "violations.0.severity",
    ),
    (
        "inspections",
        spoil("inspections", violations=[{"code": "V", "severity": "minor", "x": 1}]),
        "extra_field",
        "violations.0.x",
    ),
    (
        "inspections",
        spoil("inspections", score=None, lat=None, lon=None, risk_tier=0),
        "bad_value",
        "risk_tier",
    ),
    (
        "inspections",
        spoil("inspections", event_time="1900-01-01T00:00:00"),
        "stale_event",
        "event_time",
    ),
    (
        "inspections",
        spoil("inspections", event_time="2100-01-01T00:00:00"),
        "future_event",
        "event_time",
    ),
    ("inspections", spoil("inspections", event_time="31/12/2023"), "bad_time", "event_time"),
    ("inspections", spoil("inspections", event_time=1714540000), "wrong_type", "event_time"),
    ("complaints", spoil("complaints", channel="fax"), "bad_value", "channel"),
    ("complaints", spoil("complaints", text=""), "bad_value", "text"),
    ("complaints", spoil("complaints", uscc="123"), "bad_uscc", "uscc"),
    (
        "equipment",
        spoil("equipment", metrics={"pressure": "high"}, units={}),
        "wrong_type",
        "metrics.pressure",
    ),
    (
        "equipment",
        spoil("equipment", units={"pressure": "furlong"}),
        "bad_unit",
        "metrics.pressure",
    ),
    ("equipment", spoil("equipment", units={"speed": "m/s"}), "bad_unit", "units.speed"),
    ("equipment", spoil("equipment", metrics=[1, 2]), "wrong_type", "metrics"),
    ("equipment", spoil("equipment", door_faults=-3), "bad_value", "door_faults"),
    ("equipment", spoil("equipment", equipment_type="submarine"), "bad_value", "equipment_type"),
    ("trucks", spoil("trucks", plate="ABC"), "bad_plate", "plate"),
    ("trucks", spoil("trucks", lat=0.0, lon=0.0), "bad_coordinates", "lat"),
    ("trucks", spoil("trucks", lat=DROP, lon=DROP), "missing_field", "lat"),
    ("trucks", spoil("trucks", speed_kmh=-5.0), "bad_value", "speed_kmh"),
    ("trucks", spoil("trucks", heading=400.0), "bad_value", "heading"),
    ("trucks", spoil("trucks", company_uscc="91350100M000100Y4"), "bad_uscc", "company_uscc"),
    ("dispositions", spoil("dispositions", action="shrug"), "bad_value", "action"),
    ("dispositions", spoil("dispositions", task_id=""), "bad_value", "task_id"),
]


@pytest.mark.parametrize(("source", "payload", "reason", "field"), CASES)
def test_reasons_and_fields(source: str, payload: dict[str, Any], reason: str, field: str) -> None:
    exc = _reason(source, payload)
    assert (exc.reason, exc.field) == (reason, field), str(exc)
    assert exc.message


def test_nan_and_inf_are_refused_with_their_path() -> None:
    raw = json.dumps(good("trucks")).replace("42.0", "NaN").encode()
    exc = _reason("trucks", raw)
    assert (exc.reason, exc.field) == ("bad_value", "speed_kmh")
    raw = json.dumps(good("equipment")).replace("800.0", "Infinity").encode()
    exc = _reason("equipment", raw)
    assert (exc.reason, exc.field) == ("bad_value", "metrics.pressure")


def test_size_limit() -> None:
    small = IngestLimits(max_event_bytes=50)
    assert _reason("trucks", good("trucks"), limits=small).reason == "too_large"


def test_an_avro_record_of_another_type_on_a_source_topic() -> None:
    record = _decode("trucks", good("trucks"))
    exc = _reason("inspections", encode_record(record, "avro"))
    assert exc.reason == "unknown_schema"


def test_unknown_source() -> None:
    assert _reason("weather", good("trucks")).reason == "unknown_source"


def test_future_skew_is_configurable() -> None:
    ahead = spoil("trucks", event_time=(NOW + timedelta(minutes=10)).isoformat())
    assert _reason("trucks", ahead).reason == "future_event"
    assert _decode("trucks", ahead, limits=IngestLimits(max_future_skew_seconds=3600))


def test_limits_from_settings() -> None:
    from config.settings import Settings

    s = Settings(max_event_bytes=123, max_future_skew_seconds=4, max_event_age_days=5)
    assert IngestLimits.from_settings(s) == IngestLimits(123, 4, 5)


def test_dead_letter_carries_reason_field_and_bytes() -> None:
    raw = json.dumps(spoil("trucks", plate="ABC")).encode()
    with pytest.raises(ValidationFailed) as info:
        decode_source("trucks", raw, limits=IngestLimits(), now=NOW)
    dl = dead_letter(
        info.value,
        source="trucks",
        topic="trucks.gps",
        partition=3,
        offset=7,
        key=b"k",
        payload=raw,
        now=NOW,
        worker="w1",
    )
    assert (dl.reason, dl.field, dl.payload, dl.partition, dl.offset) == (
        "bad_plate",
        "plate",
        raw,
        3,
        7,
    )
    big = dead_letter(
        RuntimeError("boom"),
        source="s",
        topic="t",
        key=None,
        payload=b"x" * 100,
        now=NOW,
        max_payload_bytes=10,
    )
    assert big.reason == "internal_error"
    assert len(big.payload) == 10
    assert "truncated" in big.message
