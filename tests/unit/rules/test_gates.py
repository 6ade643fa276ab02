"""Rules an event's kind field rules out are not run (rules/gates.py): every hit, window,
error count and re-keying answer must be what running them gave."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from config.settings import PROJECT_ROOT
from rules.compiler import expand_paths, load_packs
from rules.engine import RuleBudget, RuleEngine
from rules.gates import Gate, equality_gate, rule_gate
from rules.sources import example_event
from tests.unit.rules.conftest import rule
from tests.unit.rules.test_event_fields import _stream

if TYPE_CHECKING:
    from collections.abc import Callable

    from rules.compiler import CompiledPack


@pytest.mark.parametrize(
    ("expression", "gate"),
    [
        ('event.kind == "overspeed"', ("kind", {"overspeed"})),
        ('event.a > 1 && ("x" == event.kind) && event.b', ("kind", {"x"})),
        ('(event.kind == "x && y" && event.a)', ("kind", {"x && y"})),
        ('event.kind == "a" || event.b', None),
        ('event.kind == "a" && event.b || event.c', None),
        ('event.kind == "a" ? event.b : false', None),
        ('!(event.kind == "a")', None),
        ('event.kind != "a"', None),
        ('event.kind == "a" + "b"', None),
        ('event.kind == "a\\n"', None),
        ('event.kind.name == "a"', None),
        ('event.kind == r"a"', None),
    ],
)
def test_only_a_top_level_equality_with_a_plain_literal_is_a_gate(
    expression: str, gate: tuple[str, set[str]] | None
) -> None:
    assert equality_gate(expression) == (None if gate is None else (gate[0], frozenset(gate[1])))


def test_a_gate_closes_on_another_string_or_null_only() -> None:
    gate = Gate("kind", frozenset({"a"}))
    assert gate.closed({"kind": "b"})
    assert gate.closed({"kind": None})
    assert not gate.closed({"kind": "a"})
    assert not gate.closed({}), "a missing field is an error the engine counts"
    assert not gate.closed({"kind": ["b"]})


def test_windows_that_learn_from_refused_events_have_no_gate() -> None:
    assert rule_gate("duration", 'event.kind == "a"', None) is None
    assert rule_gate("absence", 'event.kind == "a"', "event.x == 0") is None
    assert rule_gate("absence", 'event.kind == "a"', 'event.kind == "b"') == Gate(
        "kind", frozenset({"a", "b"})
    )
    assert rule_gate("aggregate", 'event.kind == "a" && event.n > 1', None) == Gate(
        "kind", frozenset({"a"})
    )


def _ungated(engine: RuleEngine) -> RuleEngine:
    engine._gates = {}
    return engine


def test_shipped_packs_decide_with_gates_as_without(tmp_path: Any) -> None:
    packs = load_packs(expand_paths([PROJECT_ROOT / "rules" / "packs"]))
    gated, whole = RuleEngine(packs), _ungated(RuleEngine(packs))
    assert len(gated._gates) >= 8, "the shipped packs' kind conditions should gate"
    gated_state: dict[str, Any] = {}
    whole_state: dict[str, Any] = {}
    left_out = hits = 0
    for source, event in _stream(tmp_path):
        left_out += len(gated._by_source.get(source, ())) - len(gated.open_rules(source, event))
        fast = gated.evaluate(source, event, gated_state)
        slow = whole.evaluate(source, event, whole_state)
        assert [h.model_dump() for h in fast] == [h.model_dump() for h in slow], event
        ids = gated.rule_ids
        assert gated.concerned(source, event, ids) == whole.concerned(source, event, ids)
        context = gated.context(source, event)
        assert gated.evaluate(source, event, {}, context=context) == gated.evaluate(
            source, event, {}
        )
        hits += len(fast)
    assert gated_state == whole_state
    assert gated.pop_errors() == whole.pop_errors()
    assert hits > 100, "the stream fired too few rules to say anything"
    assert left_out > 300, "the gates left out too few rules to say anything"


def test_an_erring_conjunct_behind_a_closed_gate_counts_no_error_either_way(
    make_pack: Callable[..., CompiledPack], event: Callable[..., dict[str, Any]]
) -> None:
    pack = make_pack(
        rule(condition='event.outcome == "fail" && event.violations[0].severity == "x"')
    )
    gated, whole = RuleEngine([pack]), _ungated(RuleEngine([pack]))
    for outcome in ("pass", "fail"):
        ev = event("inspections", outcome=outcome, violations=[])
        assert gated.evaluate("inspections", ev, {}) == whole.evaluate("inspections", ev, {}) == []
        assert (
            gated.pop_errors() == whole.pop_errors() == ({} if outcome == "pass" else {"t.rule": 1})
        )


def test_a_rule_left_out_is_forgiven_as_a_run_within_budget(
    make_pack: Callable[..., CompiledPack], event: Callable[..., dict[str, Any]]
) -> None:
    pack = make_pack(rule())
    budget = RuleBudget(seconds=1.0, strikes=3, forgive=0.5)
    gated, whole = (RuleEngine([pack], budget=budget), _ungated(RuleEngine([pack], budget=budget)))
    for engine in (gated, whole):
        engine._strikes["t.rule"] = 2.0
        engine.evaluate("inspections", event("inspections", outcome="pass"), {})
    assert gated._strikes == whole._strikes == {"t.rule": 1.5}


def test_quiet_only_when_every_rule_is_left_out_and_changes_nothing_on_a_refusal() -> None:
    engine = RuleEngine(load_packs(expand_paths([PROJECT_ROOT / "rules" / "packs"])))
    at = "2026-12-03T10:00:00+00:00"
    fence = example_event("truck_detections", {"kind": "fence_enter"}, "d1", at)
    speeding = example_event("truck_detections", {"kind": "overspeed"}, "d2", at)
    boiler = example_event("equipment", {"equipment_type": "boiler"}, "e1", at)
    assert engine.quiet(engine.context("truck_detections", fence))
    assert engine.concerned("truck_detections", fence, engine.rule_ids) == []
    assert not engine.quiet(engine.context("truck_detections", speeding))
    assert not engine.quiet(engine.context("equipment", boiler)), "a duration window learns"
    engine._strikes["trucks.overspeed"] = 1.0
    assert not engine.quiet(engine.context("truck_detections", fence)), "strikes are forgiven"
