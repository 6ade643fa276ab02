"""The generator's entity pools: `--entities N` makes a stream with exactly N distinct entities,
up to 100,000, every record still valid; without it the stream is what it always was."""

from __future__ import annotations

import doctest
import hashlib
import json
from collections import Counter
from datetime import UTC, datetime

import pytest

import schemas.sample_stream
from schemas.sample_stream import entity_counts, generate, split_entities
from schemas.validation.plate import is_valid_plate
from schemas.validation.uscc import is_valid_uscc

START = datetime(2026, 5, 1, tzinfo=UTC)


def test_without_entities_the_stream_is_byte_for_byte_what_it_was() -> None:
    # digest of generate(3000, seed=7) before `entities` existed: demo, tests and earlier
    # benchmark runs keep their exact input
    events = generate(3_000, seed=7, start=START)
    text = json.dumps([(e.source, e.key, e.event) for e in events], ensure_ascii=False)
    assert hashlib.sha256(text.encode()).hexdigest() == (
        "f719adf385dcf52d049ef6e5545deed07e64acb9de9945de3bc9f978afb17e1f"
    )
    assert entity_counts(events) == {"enterprises": 57, "equipment": 12, "plates": 6}


@pytest.mark.parametrize("n", [3, 10, 1_000, 7_919])
def test_entities_n_gives_exactly_n_distinct_entities(n: int) -> None:
    events = generate(max(n, 50) + 17, seed=3, start=START, entities=n)
    counts = entity_counts(events)
    assert counts == split_entities(n, (0.2, 0.2, 0.35, 0.25))
    assert sum(counts.values()) == n


def test_one_hundred_thousand_entities() -> None:
    events = generate(100_000, seed=7, start=START, entities=100_000)
    counts = entity_counts(events)
    assert sum(counts.values()) == 100_000
    assert counts == {"enterprises": 40_000, "equipment": 35_000, "plates": 25_000}
    plates = {e.key for e in events if e.source == "trucks"}
    usccs = {e.key for e in events if e.source == "inspections"}
    assert all(is_valid_plate(p) for p in plates)
    assert all(is_valid_uscc(u) for u in list(usccs)[:2_000])
    assert len({e.event["event_id"] for e in events}) == 100_000


def test_new_entities_are_spread_over_the_stream_not_front_loaded() -> None:
    events = generate(20_000, seed=5, start=START, entities=5_000)
    first_seen: dict[str, int] = {}
    for i, e in enumerate(events):
        first_seen.setdefault(e.key, i)
    quarters = Counter(i * 4 // len(events) for i in first_seen.values())
    assert all(quarters[q] > 500 for q in range(4)), quarters


def test_cover_by_finishes_the_entities_before_the_tail() -> None:
    events = generate(3_000, seed=2, start=START, entities=1_000, cover_by=2_000)
    assert sum(entity_counts(events[:2_000]).values()) == 1_000
    assert sum(entity_counts(events).values()) == 1_000  # the tail reuses them


def test_more_entities_than_events_is_refused() -> None:
    with pytest.raises(ValueError, match="at least as many events"):
        generate(100, entities=500)
    with pytest.raises(ValueError, match="at least 3 entities"):
        split_entities(2, (0.2, 0.2, 0.35, 0.25))


def test_generator_doctests() -> None:
    assert doctest.testmod(schemas.sample_stream).failed == 0
