"""Bad input on purpose: whatever arrives, decode_source raises ValidationFailed and nothing else.

``internal_error`` is the catch-all that keeps an agent alive if the validator has a bug; these
tests forbid it, so a bug shows here rather than in the dead-letter topic.
"""

from __future__ import annotations

import json
import random
import struct
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.catalogue import LocalCatalogue
from schemas.codecs import encode_record
from schemas.errors import ValidationFailed
from schemas.ingest import IngestLimits, decode_source
from schemas.reasons import REASONS
from schemas.record_specs import SOURCES

from .conftest import NOW, good

FUZZ = settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
sources = st.sampled_from(sorted(SOURCES))


def _outcome(source: str, raw: bytes) -> str | None:
    """None if accepted, else the reason; anything but ValidationFailed propagates and fails."""
    try:
        decode_source(source, raw, limits=IngestLimits(), now=NOW)
    except ValidationFailed as exc:
        refused = exc
    else:
        return None
    assert refused.reason in REASONS, str(refused)
    assert refused.reason != "internal_error", str(refused)
    assert refused.message
    return refused.reason


@FUZZ
@given(source=sources, raw=st.binary(max_size=300))
def test_random_bytes(source: str, raw: bytes) -> None:
    _outcome(source, raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@FUZZ
@given(source=sources, data=st.data())
def test_each_field_replaced_by_anything(source: str, data: st.DataObject) -> None:
    payload = good(source)
    key = data.draw(st.sampled_from(sorted(payload)))
    payload[key] = data.draw(json_values)
    _outcome(source, json.dumps(payload).encode())


@FUZZ
@given(source=sources, data=st.data())
def test_fields_dropped_or_added(source: str, data: st.DataObject) -> None:
    payload = good(source)
    for key in data.draw(st.lists(st.sampled_from(sorted(payload)), max_size=3)):
        payload.pop(key, None)
    payload.update(data.draw(st.dictionaries(st.text(max_size=6), json_values, max_size=2)))
    _outcome(source, json.dumps(payload).encode())


@FUZZ
@given(source=sources, data=st.data())
def test_truncated_and_bit_flipped_avro(source: str, data: st.DataObject) -> None:
    record = decode_source(
        source, json.dumps(good(source)).encode(), limits=IngestLimits(), now=NOW
    )
    raw = bytearray(encode_record(record, "avro"))
    cut = data.draw(st.integers(0, len(raw)))
    mutated = bytearray(raw[:cut])
    flips = data.draw(st.integers(0, 3)) if len(mutated) > 5 else 0
    for _ in range(flips):
        i = data.draw(st.integers(5, len(mutated) - 1))
        mutated[i] ^= 1 << data.draw(st.integers(0, 7))
    reason = _outcome(source, bytes(mutated))
    if cut < len(raw) and not flips and reason is None:  # a flip can make a shorter valid record
        pytest.fail("a truncated Avro record was accepted")


def test_unknown_schema_id() -> None:
    free = max(LocalCatalogue().ids()) + 1
    assert _outcome("trucks", struct.pack(">bI", 0, free) + b"\x02a") == "unknown_schema"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xc3\x28{}", "bad_encoding"),
        (b'{"event_id": "\xed\xa0\x80"}', "bad_encoding"),  # an encoded surrogate is not UTF-8
        (b"null", "bad_json"),
        (b'{"a":' * 50_000, "bad_json"),
        (json.dumps({"event_id": "x"}).encode(), "missing_field"),
    ],
)
def test_named_bad_inputs(raw: bytes, reason: str) -> None:
    assert _outcome("trucks", raw) == reason


def test_ten_megabytes_is_refused_fast() -> None:
    raw = b'{"event_id": "' + b"x" * 10_000_000 + b'"}'
    start = time.perf_counter()
    assert _outcome("complaints", raw) == "too_large"
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        ("1900-01-01T00:00:00", "stale_event"),
        ("2100-01-01T00:00:00Z", "future_event"),
        ("0001-01-01T00:00:00+14:00", "bad_time"),
        ("9999-12-31T23:59:59-14:00", "bad_time"),
    ],
)
def test_dates_far_away(when: str, reason: str) -> None:
    payload: dict[str, Any] = good("trucks") | {"event_time": when}
    assert _outcome("trucks", json.dumps(payload).encode()) == reason


def test_bounded_random_mutation_of_valid_json() -> None:
    """A seeded byte-level fuzz: deterministic, a few thousand cases, well under a second."""
    rng = random.Random(20240501)
    bases = {s: json.dumps(good(s), ensure_ascii=False).encode() for s in SOURCES}
    seen: set[str | None] = set()
    for _ in range(3000):
        source = rng.choice(sorted(bases))
        raw = bytearray(bases[source])
        for _ in range(rng.randint(1, 4)):
            op = rng.random()
            i = rng.randrange(len(raw))
            if op < 0.4:
                raw[i] = rng.randrange(256)
            elif op < 0.7:
                del raw[i]
            else:
                raw.insert(i, rng.choice(b'{}[]",:0123456789.eE-nult\\'))
        seen.add(_outcome(source, bytes(raw)))
    assert len(seen) > 3  # the fuzz reaches several different failures, not one wall
