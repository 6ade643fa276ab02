"""Compile-time checks: syntax, unknown fields and variables, type errors on typed probes."""

from __future__ import annotations

import pytest

from rules.compiler import load_pack_text
from rules.errors import PackInvalid
from tests.unit.rules.conftest import pack_yaml, rule


def problems(*rules: dict) -> list[str]:
    with pytest.raises(PackInvalid) as info:
        load_pack_text(pack_yaml(list(rules)), origin="p.yaml")
    return info.value.problems


def test_type_error_names_rule_and_expression() -> None:
    (line,) = problems(rule(id="a.one", condition='event.critical_count > "x"'))
    assert line.startswith('rule a.one: condition: type error in `event.critical_count > "x"`')


def test_type_error_behind_a_short_circuit_is_found() -> None:
    cond = 'event.outcome == "fail" && event.critical_count > "x"'
    (line,) = problems(rule(id="a.one", condition=cond))
    assert 'event.critical_count > "x"' in line


def test_unknown_field_names_source() -> None:
    (line,) = problems(rule(id="a.one", condition='event.outcom == "fail"'))
    assert "event.outcom" in line
    assert "inspections events do not have" in line


def test_field_must_exist_in_every_source() -> None:
    found = problems(
        rule(id="a.one", sources=["inspections", "complaints"], condition="event.text != ''")
    )
    assert any("inspections events do not have" in p for p in found)


def test_unknown_variable() -> None:
    (line,) = problems(rule(id="a.one", condition='evnt.outcome == "fail"'))
    assert "unknown variable 'evnt'" in line


def test_syntax_error() -> None:
    (line,) = problems(rule(id="a.one", condition="event.outcome =="))
    assert line.startswith("rule a.one: condition: `event.outcome ==` does not parse")


def test_condition_must_be_boolean() -> None:
    (line,) = problems(rule(id="a.one", condition="event.critical_count"))
    assert "gives int, a bool is needed" in line


def test_aggregate_value_must_be_number() -> None:
    window = {
        "kind": "aggregate",
        "function": "sum",
        "value": "event.outcome",
        "size": "1d",
        "threshold": 1,
    }
    (line,) = problems(rule(id="a.one", window=window))
    assert line.startswith("rule a.one: window.value:")


def test_entity_and_group_fields_checked() -> None:
    found = problems(rule(id="a.one", entity="plate", group_key=["uscc", "nope"]))
    assert any(p.startswith("rule a.one: entity:") and "'plate'" in p for p in found)
    assert any(p.startswith("rule a.one: group_key:") and "'nope'" in p for p in found)


def test_sequence_step_checked_against_its_own_source() -> None:
    window = {
        "kind": "sequence",
        "within": "30d",
        "steps": [
            {"source": "complaints", "condition": 'event.outcome == "fail"'},
            {"source": "inspections", "condition": 'event.outcome == "fail"'},
        ],
    }
    (line,) = problems(
        rule(
            id="a.one",
            sources=["complaints", "inspections"],
            condition="true",
            entity="uscc",
            window=window,
        )
    )
    assert line.startswith("rule a.one: window.steps[0].condition:")


def test_map_keys_and_comprehensions_are_fine() -> None:
    pack = load_pack_text(
        pack_yaml(
            [
                rule(
                    id="a.one",
                    sources=["equipment"],
                    condition="has(event.metrics.load) && event.metrics.load > 1.0",
                    examples=[
                        {"name": "f", "fire": True, "event": {"metrics": {"load": 2}}},
                        {"name": "n", "fire": False, "event": {}},
                    ],
                ),
                rule(id="a.two", condition='event.violations.exists(v, v.severity == "critical")'),
            ]
        )
    )
    assert [r.paths for r in pack.rules] == [("metrics.load",), ("violations",)]


def test_a_misspelt_field_gets_a_suggestion() -> None:
    (line,) = problems(rule(id="a.one", condition='event.outcom == "fail"'))
    assert "did you mean 'outcome'?" in line


@pytest.mark.parametrize(
    "condition",
    [
        'event.outcome == "failed"',
        '"failed" != event.outcome',
        'event.outcome in ["fail", "failed"]',
    ],
)
def test_a_value_an_enum_field_never_takes_is_refused(condition: str) -> None:
    (line,) = problems(rule(id="a.one", condition=condition))
    assert "outcome is never 'failed'" in line
    assert "did you mean 'fail'?" in line
    assert "fail, pass, rectify" in line


def test_values_the_field_takes_pass() -> None:
    load_pack_text(
        pack_yaml([rule(id="a.one", condition='event.outcome in ["fail", "rectify"]')]),
        origin="p.yaml",
    )


def test_values_doctests() -> None:
    import doctest

    from rules import values

    assert doctest.testmod(values).failed == 0
