"""Sequences across sources on one USCC, in event time, tolerant of late arrivals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rules.engine import RuleEngine
from rules.windows import sequence_add
from tests.unit.rules.conftest import roundtrip, rule

Make = Callable[..., Any]
DAY = 24 * 60


@pytest.fixture
def engine(make_pack: Make) -> RuleEngine:
    window = {
        "kind": "sequence",
        "within": "30d",
        "steps": [
            {"source": "complaints", "condition": "event.uscc != null"},
            {"source": "inspections", "condition": 'event.outcome == "fail"'},
        ],
    }
    spec = rule(
        id="x.seq",
        sources=["complaints", "inspections"],
        condition="true",
        entity="uscc",
        level="red",
        window=window,
        examples=[
            {
                "name": "f",
                "fire": True,
                "events": [
                    {"source": "complaints", "event": {"uscc": "U1", "text": "t"}},
                    {"source": "inspections", "event": {"uscc": "U1", "outcome": "fail"}},
                ],
            },
            {
                "name": "n",
                "fire": False,
                "events": [
                    {"source": "inspections", "event": {"uscc": "U1", "outcome": "fail"}},
                ],
            },
        ],
    )
    return RuleEngine([make_pack(spec)])


def play(engine: RuleEngine, items: list[tuple[str, dict]]) -> list:
    state: dict = {}
    hits = []
    for source, ev in items:
        hits += engine.evaluate(source, ev, state)
        state = roundtrip(state)
    return hits


def test_complaint_then_failure_fires_red(engine: RuleEngine, event: Make) -> None:
    (hit,) = play(
        engine,
        [
            ("complaints", event("complaints", 0, uscc="U1", text="老鼠")),
            ("inspections", event("inspections", 10 * DAY, uscc="U1", outcome="fail")),
        ],
    )
    assert hit.level.value == "red"
    assert hit.entity == "U1"
    assert [s["source"] for s in hit.values["sequence"]] == ["complaints", "inspections"]


def test_wrong_order_or_too_far_does_not_fire(engine: RuleEngine, event: Make) -> None:
    assert not play(
        engine,
        [
            ("inspections", event("inspections", 0, uscc="U1", outcome="fail")),
            ("complaints", event("complaints", DAY, uscc="U1", text="x")),
        ],
    )
    assert not play(
        engine,
        [
            ("complaints", event("complaints", 0, uscc="U1", text="x")),
            ("inspections", event("inspections", 31 * DAY, uscc="U1", outcome="fail")),
        ],
    )


def test_late_complaint_completes_the_chain(engine: RuleEngine, event: Make) -> None:
    hits = play(
        engine,
        [
            ("inspections", event("inspections", 5 * DAY, uscc="U1", outcome="fail")),
            ("complaints", event("complaints", 2 * DAY, uscc="U1", text="x")),
        ],
    )
    assert len(hits) == 1


def test_a_chain_is_the_same_hit_whichever_event_completes_it(
    engine: RuleEngine, event: Make
) -> None:
    """The two sources come from two topics in no fixed order: same chain, same hit identity
    (source and event id make the warning's fingerprint and the task)."""
    complaint = ("complaints", event("complaints", 2 * DAY, uscc="U1", text="x"))
    failure = ("inspections", event("inspections", 5 * DAY, uscc="U1", outcome="fail"))
    (in_order,) = play(engine, [complaint, failure])
    (late,) = play(engine, [failure, complaint])
    assert (
        (late.source, late.event_id, late.event_time)
        == (
            in_order.source,
            in_order.event_id,
            in_order.event_time,
        )
        == ("inspections", failure[1]["event_id"], in_order.event_time)
    )


def test_chain_fires_once_then_needs_a_new_complaint(engine: RuleEngine, event: Make) -> None:
    hits = play(
        engine,
        [
            ("complaints", event("complaints", 0, uscc="U1", text="x")),
            ("inspections", event("inspections", DAY, uscc="U1", outcome="fail")),
            ("inspections", event("inspections", 2 * DAY, uscc="U1", outcome="fail")),
        ],
    )
    assert len(hits) == 1


def test_entities_do_not_mix(engine: RuleEngine, event: Make) -> None:
    assert not play(
        engine,
        [
            ("complaints", event("complaints", 0, uscc="U1", text="x")),
            ("inspections", event("inspections", DAY, uscc="U2", outcome="fail")),
        ],
    )


def test_three_steps_and_bounded_occurrences() -> None:
    state = None
    for i in range(40):
        state, chain = sequence_add(state, [0], float(i), {"id": f"a{i}"}, n_steps=3, within=1000)
        assert chain is None
    assert state is not None
    assert len(state["s"][0]) == 16
    state, chain = sequence_add(state, [2], 50.0, {"id": "c"}, n_steps=3, within=1000)
    assert chain is None
    state, chain = sequence_add(state, [1], 45.0, {"id": "b"}, n_steps=3, within=1000)
    assert chain is not None
    assert [c["id"] for c in chain] == ["a39", "b", "c"]
