"""Every hostile record of issue #15, as data: what is sent, where, and why it must be refused.

Each :class:`Case` is one record for one source topic with the dead-letter reason (and, where it
is certain, the field) it must get. Most are a good record of their source with one thing
spoiled, so only the hostile part differs; the big ones (a payload over 1 MB, a reject over
786 KB, thousands of metric names) are generated here, never stored. The good records that go
between them (:func:`good`) each raise a warning that opens a task, except a truck fix, which is
only accepted (no single fix makes a warning).

>>> from datetime import UTC, datetime
>>> cases = hostile(datetime(2026, 5, 1, tzinfo=UTC), "doc")
>>> len({c.name for c in cases}) == len(cases)
True
>>> sorted({c.source for c in cases})
['complaints', 'dispositions', 'equipment', 'inspections', 'trucks']
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from schemas.codecs import HEADER, MAGIC, encode_record
from schemas.ingest import IngestLimits, decode_source
from schemas.validation.strict import MAX_METRICS
from schemas.validation.text import MAX_ID_CHARS, MAX_NAME_CHARS, MAX_TEXT_CHARS
from schemas.validation.uscc import make_uscc

REGION = "330106"
INGEST = "ingest"
"""Stage of a case refused at the door (decode, validate): ``riskloop_events_deadlettered``."""
LOOP = "loop"
"""Stage of a case accepted at the door and refused by the task state machine."""


@dataclass(frozen=True)
class Case:
    """One hostile record.

    ``value`` None is a tombstone. ``key`` None means: the key of the good record sent next to
    it (same partition, so the good one really comes after it). ``field`` None: not asserted.
    """

    name: str
    source: str
    value: bytes | None
    reason: str
    field: str | None = None
    key: bytes | None = None
    stage: str = INGEST


# ---------------------------------------------------------------- good records


def _at(now: datetime) -> str:
    return (now - timedelta(hours=1)).isoformat()


def inspection(run: str, i: int, now: datetime) -> dict[str, Any]:
    """A failed inspection with a critical violation: an orange warning and its task."""
    return {
        "event_id": f"good-{run}-insp-{i}",
        "event_time": _at(now),
        "uscc": make_uscc(f"hostile-{run}-insp-{i}", REGION),
        "entity_name": "杭州知味餐饮管理有限公司",
        "region_code": REGION,
        "item_code": "FOOD-INSP-01",
        "department": "hz_market",
        "outcome": "fail",
        "critical_count": 1,
        "violations": [{"code": "C03", "severity": "critical", "description": "冷藏温度超标"}],
    }


def complaint(run: str, i: int, now: datetime) -> dict[str, Any]:
    """A 12345 complaint of food poisoning: a red warning and its task."""
    return {
        "event_id": f"good-{run}-comp-{i}",
        "event_time": _at(now),
        "channel": "12345",
        "text": "昨晚在该餐厅就餐后全家呕吐腹泻，请尽快处理",
        "category": "食品安全",
        "uscc": make_uscc(f"hostile-{run}-comp-{i}", REGION),
        "region_code": REGION,
    }


def equipment(run: str, i: int, now: datetime) -> dict[str, Any]:
    """An elevator reporting a trapped passenger: a red warning and its task."""
    return {
        "event_id": f"good-{run}-equip-{i}",
        "event_time": _at(now),
        "equipment_code": f"3110{REGION}{run}{i:04d}",
        "equipment_type": "elevator",
        "uscc": make_uscc(f"hostile-{run}-equip-{i}", REGION),
        "region_code": REGION,
        "metrics": {"current": 10.0, "speed": 1.0},
        "units": {"current": "A"},
        "trapped": True,
    }


def truck(run: str, i: int, now: datetime) -> dict[str, Any]:
    """A muck truck's GPS fix in Hangzhou: accepted, no task (no single fix makes a warning)."""
    return {
        "event_id": f"good-{run}-gps-{i}",
        "event_time": _at(now),
        "plate": f"浙A{i:05d}",
        "lat": 30.27,
        "lon": 120.15,
        "speed_kmh": 30.0,
        "heading": 90.0,
        "loaded": True,
    }


def disposition(task_id: str, department: str, event_id: str, now: datetime) -> dict[str, Any]:
    """A department signing for (签收) its task."""
    return {
        "event_id": event_id,
        "event_time": _at(now),
        "task_id": task_id,
        "department": department,
        "action": "sign",
        "actor": "inspector-7",
    }


GOOD = {"inspections": inspection, "complaints": complaint, "equipment": equipment, "trucks": truck}
KEY_FIELD = {
    "inspections": "uscc",
    "complaints": "uscc",
    "equipment": "equipment_code",
    "trucks": "plate",
    "dispositions": "task_id",
}
"""The field a source topic is keyed by (the entity)."""


def good(source: str, run: str, i: int, now: datetime) -> tuple[bytes, bytes, str]:
    """(key, value, event id) of the ``i``-th good record of ``source``."""
    body = GOOD[source](run, i, now)
    return str(body[KEY_FIELD[source]]).encode(), encode(body), str(body["event_id"])


def encode(body: dict[str, Any]) -> bytes:
    """JSON as a sender writes it; ``\\ud800`` stays an escape (valid JSON, unencodable text)."""
    return json.dumps(body).encode()


# ---------------------------------------------------------------- the corpus


def hostile(now: datetime, run: str) -> list[Case]:
    """Every hostile case, in the order they are sent."""
    return [
        *_surrogates(now, run),
        *_numbers(now, run),
        *_sizes(now, run),
        *_coercion(now, run),
        *_identifiers(now, run),
        *_avro(now, run),
        *_classics(now, run),
        *_standard(now, run),
        *_loop(now, run),
    ]


def _spoil(source: str, run: str, now: datetime, name: str, **patch: Any) -> bytes:
    body = {**_template(source, run, now), "event_id": f"bad-{run}-{name}", **patch}
    return encode(body)


def _template(source: str, run: str, now: datetime) -> dict[str, Any]:
    if source == "dispositions":
        return disposition(f"task-{run}-none", "hz_market", f"bad-{run}-disp", now)
    return GOOD[source](run, 9999, now)


def _surrogates(now: datetime, run: str) -> list[Case]:
    """Lone UTF-16 surrogates: valid JSON escapes, text no UTF-8 can carry."""

    def case(name: str, source: str, key: str, value: Any, field: str) -> Case:
        raw = _spoil(source, run, now, name, **{key: value})
        return Case(name, source, raw, "bad_text", field)

    return [
        case("surrogate-text", "complaints", "text", "坏\ud800", "text"),
        case("surrogate-category", "complaints", "category", "\ud800", "category"),
        case("surrogate-entity-name", "inspections", "entity_name", "某\udfff公司", "entity_name"),
        Case(
            "surrogate-event-id",
            "trucks",
            encode({**truck(run, 9999, now), "event_id": "g\ud800"}),
            "bad_text",
            "event_id",
        ),
        case("surrogate-metric-name", "equipment", "metrics", {"p\ud800": 1.0}, "metrics"),
        case("surrogate-actor", "dispositions", "actor", "\udbff", "actor"),
        Case("surrogate-key", "inspections", b'{"\\ud800": 1}', "bad_text"),
    ]


def _numbers(now: datetime, run: str) -> list[Case]:
    """Numbers a float cannot hold, whose sums overflow, or out of their range."""

    def case(name: str, source: str, reason: str, field: str | None, **patch: Any) -> Case:
        return Case(name, source, _spoil(source, run, now, name, **patch), reason, field)

    door = [
        case(f"door-faults-1e308-{n}", "equipment", "bad_value", "door_faults", door_faults=1e308)
        for n in range(3)  # three in one window: the sum would be inf
    ]
    return [
        case("int-above-float", "equipment", "bad_value", "door_faults", door_faults=10**400),
        case("int-above-float-score", "inspections", "bad_value", "score", score=10**400),
        Case(
            "float-literal-1e400",
            "inspections",
            _spoil("inspections", run, now, "f1e400", score=1.5).replace(b"1.5", b"1e400"),
            "bad_value",
            "score",
        ),
        *door,
        case(
            "metric-1e308", "equipment", "bad_value", "metrics.current", metrics={"current": 1e308}
        ),
        case("nan", "inspections", "bad_value", "score", score=float("nan")),
        case("infinity", "trucks", "bad_value", "speed_kmh", speed_kmh=float("inf")),
        case("minus-infinity", "trucks", "bad_value", "lat", lat=float("-inf")),
        case("lat-91", "trucks", "bad_coordinates", "lat", lat=91.0),
        case("null-island", "trucks", "bad_coordinates", None, lat=0.0, lon=0.0),
        case("speed-301", "trucks", "bad_value", "speed_kmh", speed_kmh=301.0),
        case("heading-2-60", "trucks", "bad_value", "heading", heading=2**60),
        case("risk-tier-10", "inspections", "bad_value", "risk_tier", risk_tier=10),
        case("negative-count", "inspections", "bad_value", "critical_count", critical_count=-1),
        case("count-2e6", "equipment", "bad_value", "door_faults", door_faults=2_000_000),
    ]


def _sizes(now: datetime, run: str) -> list[Case]:
    """Payloads over the size limit, rejects too big to dead-letter whole, too many names."""
    rng = random.Random(run)
    garbage = bytes(rng.randrange(32, 127) for _ in range(800_000)).replace(b'"', b"'")
    big_reject = _spoil("complaints", run, now, "786k", text="PAD").replace(
        b'"PAD"',
        b'"' + garbage,  # no closing quote: invalid JSON of ~800 KB
    )
    many = {f"m{n:05d}": float(n) for n in range(5_000)}
    return [
        Case(
            "just-over-1mb",
            "inspections",
            _spoil("inspections", run, now, "1mb", address="x" * 1_000_001),
            "too_large",
        ),
        Case("reject-800kb-bad-json", "complaints", big_reject, "bad_json"),
        Case(
            "reject-800kb-too-long",
            "complaints",
            _spoil("complaints", run, now, "800k-text", text="x" * 800_000),
            "too_long",
            "text",
        ),
        Case(
            "metrics-2000",
            "equipment",
            _spoil(
                "equipment", run, now, "m2000", metrics=dict(list(many.items())[:2_000]), units={}
            ),
            "too_many_metrics",
            "metrics",
        ),
        Case(
            "metrics-5000",
            "equipment",
            _spoil("equipment", run, now, "m5000", metrics=many, units={}),
            "too_many_metrics",
            "metrics",
        ),
        Case(
            "metrics-one-over",
            "equipment",
            _spoil(
                "equipment",
                run,
                now,
                "m-over",
                metrics=dict(list(many.items())[: MAX_METRICS + 1]),
                units={},
            ),
            "too_many_metrics",
            "metrics",
        ),
        Case(
            "rated-5000",
            "equipment",
            _spoil("equipment", run, now, "r5000", rated=many),
            "too_many_metrics",
            "rated",
        ),
        Case(
            "metric-name-nul",
            "equipment",
            _spoil("equipment", run, now, "m-nul", metrics={"current\x00": 1.0}, units={}),
            "bad_identifier",
            "metrics",
        ),
        Case(
            "metric-name-long",
            "equipment",
            _spoil("equipment", run, now, "m-long", metrics={"m" * 10_000: 1.0}, units={}),
            "bad_identifier",
            "metrics",
        ),
    ]


def _coercion(now: datetime, run: str) -> list[Case]:
    """Values of another JSON type that lax parsing would quietly coerce."""

    def case(name: str, source: str, field: str, value: Any) -> Case:
        raw = _spoil(source, run, now, name, **{field: value})
        return Case(name, source, raw, "wrong_type", field)

    dup = _spoil("trucks", run, now, "dup-key")
    nested = _spoil("equipment", run, now, "dup-nested", metrics={"current": 1.0})
    return [
        case("int-as-string", "equipment", "door_faults", "5"),
        case("bool-as-yes", "equipment", "trapped", "yes"),
        case("bool-as-1", "equipment", "trapped", 1),
        case("bool-as-string", "trucks", "loaded", "true"),
        case("count-as-string", "inspections", "critical_count", "2"),
        case("count-as-float", "inspections", "critical_count", 1.0),
        case("number-as-string", "trucks", "speed_kmh", "42"),
        case("number-as-bool", "trucks", "speed_kmh", True),
        case("event-id-as-int", "complaints", "event_id", 12345),
        case("violations-as-string", "inspections", "violations", "C03"),
        case("metrics-as-list", "equipment", "metrics", [1.0, 2.0]),
        case("event-time-as-number", "trucks", "event_time", 1714550400),
        Case(
            "evidence-item-int",
            "dispositions",
            _spoil("dispositions", run, now, "evidence", evidence=[1]),
            "wrong_type",
            "evidence.0",
        ),
        Case("duplicate-key", "trucks", dup[:-1] + b', "event_id": "twice"}', "duplicate_key"),
        Case(
            "duplicate-key-nested",
            "equipment",
            nested.replace(b'{"current": 1.0}', b'{"current": 1.0, "current": 2.0}'),
            "duplicate_key",
        ),
    ]


def _identifiers(now: datetime, run: str) -> list[Case]:
    """Invisible characters and lengths past the SQL columns (128) in ids and names."""
    long_id = "e" * (MAX_ID_CHARS + 1)

    def case(name: str, source: str, field: str, value: str) -> Case:
        raw = _spoil(source, run, now, name, **{field: value})
        return Case(name, source, raw, "bad_identifier", field)

    return [
        case("zero-width-equipment-code", "equipment", "equipment_code", "3110\u200b330100202001"),
        case("bom-equipment-code", "equipment", "equipment_code", "31103301002020\ufeff"),
        case("nul-event-id", "inspections", "event_id", f"bad-{run}\x00nul"),
        case("nul-event-id-disposition", "dispositions", "event_id", "a\x00b"),
        case("escape-task-id", "dispositions", "task_id", "t-\x1b[31m1"),
        case("rtl-task-id", "dispositions", "task_id", "t-\u202e1"),
        case("bell-uscc", "inspections", "uscc", "91350100M000100Y43\x07"),
        case("zero-width-plate", "trucks", "plate", "浙A\u200d12345"),
        case("zero-width-entity-name", "inspections", "entity_name", "杭州\u200b某某餐饮有限公司"),
        case("line-separator-department", "inspections", "department", "hz\u2028market"),
        case("actor-129", "dispositions", "actor", "a" * (MAX_ID_CHARS + 1)),
        case("department-129", "dispositions", "department", "d" * (MAX_ID_CHARS + 1)),
        case("department-129-inspection", "inspections", "department", "d" * (MAX_ID_CHARS + 1)),
        case("event-id-129", "complaints", "event_id", long_id),
        case("event-id-129-disposition", "dispositions", "event_id", long_id),
        case("equipment-code-129", "equipment", "equipment_code", "3" * (MAX_ID_CHARS + 1)),
        case("entity-name-513", "inspections", "entity_name", "名" * (MAX_NAME_CHARS + 1)),
    ]


def _avro_of(source: str, run: str, now: datetime, **patch: Any) -> bytes:
    body = {**_template(source, run, now), **patch}
    record = decode_source(source, encode(body), limits=IngestLimits(), now=now)
    return encode_record(record, "avro")


def _first_difference(a: bytes, b: bytes) -> int:
    return next(i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y)


def _avro(now: datetime, run: str) -> list[Case]:
    """Confluent-framed Avro: indices fastavro would wrap around, frames that do not add up."""
    first = _avro_of("inspections", run, now, outcome="pass", event_id=f"bad-{run}-avro-enum")
    last = _avro_of("inspections", run, now, outcome="rectify", event_id=f"bad-{run}-avro-enum")
    at = _first_difference(first, last)  # the outcome's zigzag index: 0x00 pass … 0x04 rectify
    null = _avro_of("complaints", run, now, subject=None, event_id=f"bad-{run}-avro-union")
    named = _avro_of("complaints", run, now, subject="主题", event_id=f"bad-{run}-avro-union")
    u = _first_difference(null, named)
    whole = _avro_of("trucks", run, now, event_id=f"bad-{run}-avro-frame")
    (_, schema_id) = HEADER.unpack_from(whole)
    return [
        Case(
            "avro-enum-minus-one", "inspections", last[:at] + b"\x01" + last[at + 1 :], "bad_avro"
        ),
        Case(
            "avro-enum-out-of-range",
            "inspections",
            last[:at] + b"\x0e" + last[at + 1 :],
            "bad_avro",
        ),
        Case("avro-union-minus-two", "complaints", null[:u] + b"\x03" + null[u + 1 :], "bad_avro"),
        Case(
            "avro-unknown-schema-id",
            "trucks",
            HEADER.pack(MAGIC, 987_654) + whole[5:],
            "unknown_schema",
        ),
        Case("avro-other-record-type", "inspections", whole, "unknown_schema"),
        Case("avro-truncated", "trucks", whole[: len(whole) // 2], "bad_avro"),
        Case("avro-trailing-bytes", "trucks", whole + b"\x00\x00", "bad_avro"),
        Case("avro-short-frame", "trucks", b"\x00\x00\x01", "bad_avro"),
        Case(
            "avro-garbage-body", "trucks", HEADER.pack(MAGIC, schema_id) + b"\xff" * 64, "bad_avro"
        ),
    ]


def _classics(now: datetime, run: str) -> list[Case]:
    """The classic hostile records: not JSON, not an object, empty, garbage, nested to death."""
    rng = random.Random(f"{run}-garbage")
    garbage = b"\xff\xfe" + bytes(rng.randrange(256) for _ in range(512))
    deep = {"x": 1}
    for _ in range(200):  # parses everywhere (far under any recursion limit), still wrong
        deep = {"x": deep}
    body = {**inspection(run, 9999, now), "event_id": f"bad-{run}-deep"}
    return [
        Case("invalid-json", "inspections", b'{"event_id": "x", ', "bad_json"),
        Case("json-array", "inspections", b"[1, 2, 3]", "bad_json"),
        Case("json-string", "complaints", b'"hello"', "bad_json"),
        Case("json-null", "equipment", b"null", "bad_json"),
        Case("json-number", "trucks", b"42", "bad_json"),
        Case("empty-body", "inspections", b"", "bad_encoding"),
        Case("tombstone", "complaints", None, "bad_encoding"),
        Case("binary-garbage", "equipment", garbage, "bad_encoding"),
        Case(
            "latin-1",
            "inspections",
            encode({**body, "entity_name": "CAFE"}).replace(b"CAFE", b"CAF\xe9"),
            "bad_encoding",
        ),
        Case(
            "utf-16", "trucks", json.dumps(truck(run, 9999, now)).encode("utf-16"), "bad_encoding"
        ),
        Case("utf-8-bom", "trucks", b"\xef\xbb\xbf" + encode(truck(run, 9998, now)), "bad_json"),
        Case("nested-100k-arrays", "inspections", b"[" * 100_000, "bad_json"),
        Case("nested-50k-objects", "complaints", b'{"a": ' * 50_000, "bad_json"),
        Case(
            "nested-200-in-a-field",
            "inspections",
            encode({**body, "address": deep}),
            "wrong_type",
            "address",
        ),
        Case("hostile-key", "inspections", b"{oops", "bad_json", key=b"\xff\x00" * 50_000),
        Case(
            "log-injection",
            "trucks",
            _spoil("trucks", run, now, "log", event_id='x\n{"level": "critical"}'),
            "bad_identifier",
            "event_id",
        ),
    ]


def _standard(now: datetime, run: str) -> list[Case]:
    """Wrong by the data standard: missing, extra, unknown codes, times, units, enums."""
    insp = inspection(run, 9999, now)
    missing = {k: v for k, v in insp.items() if k != "entity_name"}

    def case(name: str, source: str, reason: str, field: str | None, **patch: Any) -> Case:
        return Case(name, source, _spoil(source, run, now, name, **patch), reason, field)

    uscc = str(insp["uscc"])
    wrong_check = uscc[:-1] + ("0" if uscc[-1] != "0" else "1")
    return [
        Case(
            "missing-field",
            "inspections",
            encode({**missing, "event_id": f"bad-{run}-miss"}),
            "missing_field",
            "entity_name",
        ),
        case("null-required", "inspections", "missing_field", "uscc", uscc=None),
        case("extra-field", "trucks", "extra_field", "surprise", surprise=1),
        case("bad-uscc", "inspections", "bad_uscc", "uscc", uscc=wrong_check),
        case("bad-region", "inspections", "bad_region", "region_code", region_code="999999"),
        case("bad-plate", "trucks", "bad_plate", "plate", plate="ABC"),
        case("bad-time", "trucks", "bad_time", "event_time", event_time="yesterday"),
        case("bad-date", "trucks", "bad_time", "event_time", event_time="2024-13-45T00:00:00"),
        case(
            "bad-offset", "trucks", "bad_time", "event_time", event_time="2024-05-01T00:00:00+25:00"
        ),
        case(
            "future-event",
            "inspections",
            "future_event",
            "event_time",
            event_time=(now + timedelta(days=1)).isoformat(),
        ),
        case(
            "stale-event",
            "inspections",
            "stale_event",
            "event_time",
            event_time="2000-01-01T00:00:00+08:00",
        ),
        case("bad-crs", "trucks", "bad_crs", None, crs="BD09"),
        case("bad-unit", "equipment", "bad_unit", "metrics.current", units={"current": "furlong"}),
        case("unit-without-reading", "equipment", "bad_unit", "units.ghost", units={"ghost": "A"}),
        case("bad-enum", "inspections", "bad_value", "outcome", outcome="exploded"),
        case("bad-channel", "complaints", "bad_value", "channel", channel="fax"),
        case("bad-action", "dispositions", "bad_value", "action", action="delete"),
        case("blank-text", "complaints", "bad_value", "text", text="   \u3000 "),
        case("text-too-long", "complaints", "too_long", "text", text="字" * (MAX_TEXT_CHARS + 1)),
    ]


def _loop(now: datetime, run: str) -> list[Case]:
    """Well formed, refused by the task state machine: no such task."""
    raw = encode(disposition(f"task-{run}-nobody", "hz_market", f"bad-{run}-no-task", now))
    return [Case("unknown-task", "dispositions", raw, "unknown_task", "task_id", stage=LOOP)]


def digest(value: bytes | None) -> str:
    """Short SHA-256 of a payload (how a dead letter of a truncated one is matched)."""
    return hashlib.sha256(value or b"").hexdigest()
