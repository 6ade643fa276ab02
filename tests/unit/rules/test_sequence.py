"""Sequences across sources on one USCC, in event time, tolerant of late arrivals."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from rules.engine import RuleEngine
from rules.windows import SEQUENCE_KEEP, sequence_add
from tests.unit.rules.conftest import roundtrip, rule

Make = Callable[..., Any]
DAY = 24 * 60
WINDOW = {
    "kind": "sequence",
    "within": "30d",
    "steps": [
        {"source": "complaints", "condition": "event.uscc != null"},
        {"source": "inspections", "condition": 'event.outcome == "fail"'},
    ],
}
"""投诉后检查不合格, as in rules/packs/cross_source.yaml."""


@pytest.fixture
def engine(make_pack: Make) -> RuleEngine:
    spec = rule(
        id="x.seq",
        sources=["complaints", "inspections"],
        condition="true",
        entity="uscc",
        level="red",
        window=WINDOW,
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


def test_each_failure_fires_once_and_a_complaint_corroborates_all(
    engine: RuleEngine, event: Make
) -> None:
    """One complaint, two failures in the 30 days after it: two hits, one per failure; a third
    event of neither kind adds none."""
    hits = play(
        engine,
        [
            ("complaints", event("complaints", 0, uscc="U1", text="x")),
            ("inspections", event("inspections", DAY, uscc="U1", outcome="fail")),
            ("inspections", event("inspections", 2 * DAY, uscc="U1", outcome="fail")),
            ("inspections", event("inspections", 3 * DAY, uscc="U1", outcome="pass")),
        ],
    )
    assert len(hits) == 2
    assert len({h.event_id for h in hits}) == 2
    assert {h.values["sequence"][0]["event_id"] for h in hits} == {
        hits[0].values["sequence"][0]["event_id"]
    }


def test_a_late_complaint_completes_every_waiting_failure(engine: RuleEngine, event: Make) -> None:
    first = event("inspections", 3 * DAY, uscc="U1", outcome="fail")
    second = event("inspections", 4 * DAY, uscc="U1", outcome="fail")
    hits = play(
        engine,
        [
            ("inspections", first),
            ("inspections", second),
            ("complaints", event("complaints", DAY, uscc="U1", text="x")),
        ],
    )
    assert sorted(h.event_id for h in hits) == sorted([first["event_id"], second["event_id"]])


def _interleavings(a: list, b: list, seeds: int) -> list[list]:
    """``seeds`` merges of ``a`` and ``b`` that keep each one's own order (two topics read in
    blocks of random length), plus each one wholly first."""
    out = [a + b, b + a]
    for seed in range(seeds):
        rng = random.Random(seed)
        i = j = 0
        merged: list = []
        while i < len(a) or j < len(b):
            take = rng.randint(1, 12)
            if j >= len(b) or (i < len(a) and rng.random() < 0.5):
                merged += a[i : i + take]
                i += take
            else:
                merged += b[j : j + take]
                j += take
        out.append(merged)
    return out


def test_what_fires_does_not_follow_the_read_order(engine: RuleEngine, event: Make) -> None:
    """Issue #16's --chaos failure: an enterprise with dozens of complaints and a few failures,
    its two topics read in any interleaving, fires for the same failures (by the id and time
    the hits are named after) — including when every complaint is read first."""
    rng = random.Random(16)
    complaints, inspections = [], []
    for i in range(120):
        minutes = i * 5 * 60.0  # 120 events in 25 days: within the window, so none is late
        if rng.random() < 0.6:
            complaints.append(("complaints", event("complaints", minutes, uscc="U1", text="x")))
        else:
            outcome = "fail" if rng.random() < 0.3 else "pass"
            inspections.append(
                ("inspections", event("inspections", minutes, uscc="U1", outcome=outcome))
            )
    fired = [
        sorted((h.event_id, h.event_time) for h in play(engine, order))
        for order in _interleavings(complaints, inspections, seeds=8)
    ]
    assert fired[0]
    assert all(f == fired[0] for f in fired[1:])
    failures = sum(1 for _, e in inspections if e["outcome"] == "fail")
    assert 0 < len(fired[0]) <= failures


def test_many_complaints_keep_a_small_state() -> None:
    """A two-step sequence keeps of its first step only the cover of what a failure could pair
    with: 1,000 complaints a minute apart in a 30-minute window leave a handful."""
    state = None
    for i in range(1000):
        state, chains = sequence_add(state, [0], 60.0 * i, {"id": f"c{i}"}, n_steps=2, within=1800)
        assert chains == []
    assert state is not None
    assert len(state["s"][0]) <= 4
    # the cover still pairs a failure anywhere in the covered time
    _, chains = sequence_add(state, [1], 60.0 * 999 - 1, {"id": "f"}, n_steps=2, within=1800)
    assert [c["id"] for c in chains[0]][-1] == "f"


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
    for i in range(100):
        state, chains = sequence_add(state, [0], float(i), {"id": f"a{i}"}, n_steps=3, within=1000)
        assert chains == []
    assert state is not None
    assert len(state["s"][0]) == SEQUENCE_KEEP
    state, chains = sequence_add(state, [2], 150.0, {"id": "c"}, n_steps=3, within=1000)
    assert chains == []
    state, chains = sequence_add(state, [1], 145.0, {"id": "b"}, n_steps=3, within=1000)
    assert [[c["id"] for c in chain] for chain in chains] == [["a99", "b", "c"]]
    assert state["s"][2] == []  # fired: no longer waiting


def test_late_events_past_the_horizon_are_dropped() -> None:
    state, _ = sequence_add(None, [1], 10_000.0, {"id": "new"}, n_steps=2, within=100)
    state, chains = sequence_add(state, [1], 9_850.0, {"id": "late-fail"}, n_steps=2, within=100)
    assert chains == []
    assert [o["id"] for o in state["s"][1]] == ["new"]
    # an earlier step is kept while it can still pair with a last step that is not late
    state, chains = sequence_add(state, [0], 9_850.0, {"id": "c"}, n_steps=2, within=100)
    assert chains == []
    assert [o["id"] for o in state["s"][0]] == ["c"]
    _, chains = sequence_add(state, [1], 9_920.0, {"id": "fail"}, n_steps=2, within=100)
    assert [[c["id"] for c in chain] for chain in chains] == [["c", "fail"]]


def test_a_late_complaint_gives_the_hit_the_failures_region(
    engine: RuleEngine, event: Make
) -> None:
    """The region routes the task: a complaint filed in another district that completes the
    chain late must not move the hit there."""
    failure = event("inspections", 5 * DAY, uscc="U1", outcome="fail", region_code="330105")
    complaint = event("complaints", 2 * DAY, uscc="U1", text="x", region_code="330106")
    (late,) = play(engine, [("inspections", failure), ("complaints", complaint)])
    (in_order,) = play(engine, [("complaints", complaint), ("inspections", failure)])
    assert late.region_code == in_order.region_code == "330105"


def test_a_late_complaint_gives_the_hit_the_failures_values(make_pack: Make, event: Make) -> None:
    """A rule condition's values in the hit are its last event's, whichever completes it."""
    spec = rule(
        id="x.seq_region",
        sources=["complaints", "inspections"],
        condition='event.region_code != "000000"',
        entity="uscc",
        level="red",
        window=WINDOW,
    )
    engine = RuleEngine([make_pack(spec)])
    failure = event("inspections", 5 * DAY, uscc="U1", outcome="fail", region_code="330105")
    complaint = event("complaints", 2 * DAY, uscc="U1", text="x", region_code="330106")
    (late,) = play(engine, [("inspections", failure), ("complaints", complaint)])
    (in_order,) = play(engine, [("complaints", complaint), ("inspections", failure)])
    assert late.values["region_code"] == in_order.values["region_code"] == "330105"
    assert late.values == in_order.values
