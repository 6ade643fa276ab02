"""The hostile corpus (tests/hostile/corpus.py) offline: every case refused at the door gets
its reason and field from the pure ``decode_source``, quickly, and its dead letter fits the
broker; the good records between them pass. The integration test replays the same corpus
through a real worker (tests/integration/test_hostile_corpus.py)."""

from __future__ import annotations

import doctest
import time
from datetime import UTC, datetime

import pytest

from schemas.errors import ValidationFailed
from schemas.ingest import IngestLimits, dead_letter, decode_source
from schemas.reasons import REASONS
from tests.hostile import corpus
from tests.hostile.corpus import INGEST, LOOP, Case, hostile

NOW = datetime.now(UTC).replace(microsecond=0)
CASES = hostile(NOW, "unit")
BROKER_MAX = 1_000_000  # Kafka's default message.max.bytes


@pytest.mark.parametrize("case", [c for c in CASES if c.stage == INGEST], ids=lambda c: c.name)
def test_each_case_is_refused_with_its_reason(case: Case) -> None:
    started = time.perf_counter()
    with pytest.raises(ValidationFailed) as info:
        decode_source(case.source, case.value or b"", limits=IngestLimits(), now=NOW)
    took = time.perf_counter() - started
    exc = info.value
    assert exc.reason == case.reason, exc
    if case.field is not None:
        assert exc.field == case.field, exc
    assert took < 1.0, f"{case.name} took {took:.2f} s at the door"
    letter = dead_letter(
        exc,
        source=case.source,
        topic=case.source,
        key=case.key,
        payload=case.value or b"",
        now=NOW,
    )
    assert len(letter.model_dump_json().encode()) < BROKER_MAX


def test_loop_cases_pass_the_door() -> None:
    """They are refused later (no such task), so the door must let them through."""
    loop = [c for c in CASES if c.stage == LOOP]
    assert loop
    for case in loop:
        decode_source(case.source, case.value or b"", limits=IngestLimits(), now=NOW)


def test_every_reason_is_a_known_code_and_names_are_unique() -> None:
    assert len({c.name for c in CASES}) == len(CASES)
    assert {c.reason for c in CASES if c.stage == INGEST} <= set(REASONS)


def test_the_corpus_covers_the_issue() -> None:
    """The cases issue #15 names, each present (a guard against the corpus shrinking)."""
    names = {c.name for c in CASES}
    assert {
        "surrogate-text",
        "surrogate-category",
        "surrogate-entity-name",
        "surrogate-event-id",
        "int-above-float",
        "door-faults-1e308-0",
        "door-faults-1e308-1",
        "door-faults-1e308-2",
        "just-over-1mb",
        "reject-800kb-bad-json",
        "metrics-2000",
        "metrics-5000",
        "duplicate-key",
        "int-as-string",
        "bool-as-yes",
        "zero-width-equipment-code",
        "nul-event-id",
        "avro-enum-minus-one",
        "avro-enum-out-of-range",
        "actor-129",
        "department-129",
        "event-id-129",
        "equipment-code-129",
        "escape-task-id",
        "nan",
        "infinity",
        "invalid-json",
        "missing-field",
        "nested-100k-arrays",
        "empty-body",
        "binary-garbage",
    } <= names
    sizes = {c.name: len(c.value or b"") for c in CASES}
    assert sizes["just-over-1mb"] > IngestLimits().max_event_bytes
    assert sizes["reject-800kb-bad-json"] > 786_000
    assert sizes["reject-800kb-too-long"] > 786_000


@pytest.mark.parametrize("source", sorted(corpus.GOOD))
def test_good_records_pass(source: str) -> None:
    key, value, event_id = corpus.good(source, "unit", 1, NOW)
    record = decode_source(source, value, limits=IngestLimits(), now=NOW)
    assert record.event_id == event_id  # type: ignore[attr-defined]
    assert key


def test_doctests() -> None:
    result = doctest.testmod(corpus)
    assert result.attempted > 0
    assert result.failed == 0
