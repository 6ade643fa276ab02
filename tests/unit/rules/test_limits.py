"""The cost model: every costly pack is refused at validation, naming the rule, before it runs.

Nothing here times anything: each limit is a count, so the tests are the same on any machine.
"""

from __future__ import annotations

import pytest

from rules.compiler import load_pack_text
from rules.errors import PackInvalid
from rules.expressions import comprehension_depth, matches_patterns, nesting_depth
from rules.limits import (
    MAX_PACK_BYTES,
    MAX_RULES,
    MAX_YAML_NODES,
    expression_problems,
    regex_problems,
    yaml_problems,
)
from tests.unit.rules.conftest import pack_yaml, rule


def refused(text: str) -> list[str]:
    with pytest.raises(PackInvalid) as info:
        load_pack_text(text, origin="p.yaml")
    return info.value.problems


def refused_condition(condition: str) -> list[str]:
    return refused(pack_yaml([rule(id="t.costly", condition=condition)]))


def nested(levels: int) -> str:
    """``levels`` comprehensions inside each other, each over a three-item list."""
    body = "true"
    for i in reversed(range(levels)):
        body = f"[1, 2, 3].exists(x{i}, {body})"
    return body


def test_seven_nested_comprehensions_are_refused_naming_the_rule() -> None:
    problems = refused_condition(nested(7) + ' && event.outcome == "fail"')
    assert problems == [
        "rule t.costly: condition: comprehensions nest 7 deep "
        "(all/exists/map/filter inside each other); at most 2"
    ]


def test_two_nested_comprehensions_are_fine() -> None:
    assert comprehension_depth('event.violations.exists(v, ["a"].exists(k, v.code == k))') == 2
    assert expression_problems(nested(2)) == []


def test_comprehension_depth_counts_only_macros_inside_macros() -> None:
    assert comprehension_depth("[1].all(x, x > 0) && [2].map(y, y * 2).size() > 0") == 1
    assert comprehension_depth('event.text.contains("a.exists(b, c.all(d, e))")') == 0
    assert comprehension_depth("[[1]].all(x, (x.filter(y, [y].exists(z, z > 0)).size() > 0))") == 3


def test_deep_brackets_are_refused() -> None:
    condition = "(" * 40 + 'event.outcome == "fail"' + ")" * 40
    assert nesting_depth(condition) == 40
    assert refused_condition(condition) == [
        "rule t.costly: condition: brackets nest 40 deep; at most 12"
    ]


def test_long_expression_is_refused() -> None:
    condition = " || ".join(['event.outcome == "fail"'] * 60)
    (problem,) = refused_condition(condition)
    assert problem.startswith("rule t.costly: condition: is ")
    assert problem.endswith("characters long; at most 1000")


def test_costly_regex_is_refused() -> None:
    problems = refused_condition(r'event.outcome.matches("\\w{50}")')
    assert len(problems) == 1
    assert "rule t.costly: condition: regex `\\w{50}`" in problems[0]
    assert "Unicode class 50 times" in problems[0]


def test_regex_from_the_event_is_refused() -> None:
    assert refused_condition("event.outcome.matches(event.uscc)") == [
        "rule t.costly: condition: the pattern of matches() must be a string literal"
    ]


def test_cheap_regexes_pass() -> None:
    assert regex_problems("^[0-9A-Z]{18}$") == []
    assert regex_problems(r"^\w+$") == []
    assert regex_problems("(?i)^(abc|def)?x+$") == []
    assert matches_patterns(r'matches(event.a, "x\\d") || event.b.matches("y")') == [r"x\d", "y"]


@pytest.mark.parametrize(
    "pattern", [r"(a+)+", r"(\d{2})*", r"((ab)*c)+", r"[\w]{9}", r"(\w){9}", r"\p{Han}{20}"]
)
def test_nested_quantifiers_and_unicode_repeats_are_refused(pattern: str) -> None:
    assert regex_problems(pattern)


def test_every_expression_is_bounded_not_only_the_condition() -> None:
    window = {"kind": "duration", "for": "10m", "clear": nested(3)}
    assert refused(pack_yaml([rule(id="t.costly", window=window)])) == [
        "rule t.costly: window.clear: comprehensions nest 3 deep "
        "(all/exists/map/filter inside each other); at most 2"
    ]


def test_too_many_rules_are_refused() -> None:
    rules = [rule(id=f"t.r{i}") for i in range(MAX_RULES + 1)]
    (problem,) = refused(pack_yaml(rules))
    assert f"at most {MAX_RULES} items" in problem


def test_oversized_pack_is_refused_before_parsing() -> None:
    text = pack_yaml([rule()]) + "#" * MAX_PACK_BYTES
    assert refused(text) == [f"the pack is {len(text.encode())} bytes; at most {MAX_PACK_BYTES}"]


def test_yaml_alias_bombs_are_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 9)]
    (problem,) = refused(pack_yaml([rule()]) + "\n".join(lines) + "\n")
    assert problem.startswith("the pack expands to ")
    assert problem.endswith(
        f"YAML nodes (an alias or merge key counts its anchor each time it is used); at most {MAX_YAML_NODES}"
    )


def test_merge_keys_are_counted_each_time_they_are_used() -> None:
    anchor = "base: &base {" + ", ".join(f"k{i}: {i}" for i in range(100)) + "}\n"
    merges = "".join(f"m{i}:\n  <<: *base\n" for i in range(300))
    assert yaml_problems(anchor + merges)
    assert yaml_problems(anchor + merges[: len(merges) // 10]) == []


def test_yaml_the_parser_cannot_hold_is_refused_as_a_pack_problem() -> None:
    """Nesting past the parser's stack, an integer past Python's digit limit: a PackInvalid
    naming the problem (the CLI prints it, the control plane refuses it), not a crash."""
    import pytest

    from rules.compiler import PackInvalid, load_pack_text

    for text in ("[" * 100_000, "name: x\nversion: " + "9" * 5000 + "\n"):
        with pytest.raises(PackInvalid):
            load_pack_text(text)


def test_routing_an_event_counts_no_rule_error() -> None:
    """Routing (``entities``, then ``concerned``, which runs conditions too); an error
    there is counted once, by ``evaluate``, not twice."""
    from rules.compiler import load_pack_text
    from rules.engine import RuleEngine
    from schemas.validation.pii import address_key

    pack = load_pack_text(
        "name: p\nversion: 1.0.0\nowner: t\nrules:\n"
        "  - id: p.r\n    title: t\n    sources: [complaints]\n    item_code: X\n"
        "    condition: event.lat > 1.0\n    entity: address\n    level: blue\n"
        "    score: 1\n    examples:\n"
        "      - {name: a, fire: true, event: {lat: 30.2, address: x}}\n"
        "      - {name: b, fire: false, event: {lat: 0.5, address: x}}\n"
    )
    engine = RuleEngine([pack])
    event = {"event_id": "e", "event_time": "2026-12-01T00:00:00Z", "address": "a"}
    assert engine.entities("complaints", event) == {"p.r": address_key("a")}  # a pseudonym
    assert engine.concerned("complaints", event, {"p.r"}) == ["p.r"]
    assert engine.pop_errors() == {}
    engine.evaluate("complaints", event, {})
    assert engine.pop_errors() == {"p.r": 1}


def test_concerned_rules_come_in_the_packs_order_not_a_hash_order() -> None:
    """The list rides in a re-keyed event (streams/rekey.py): a set's order follows the
    process's hash seed, which made a replay's bytes differ between processes."""
    from rules.engine import RuleEngine

    ids = ["p.z", "p.a", "p.m", "p.b"]
    body = "".join(
        f"  - id: {i}\n    title: t\n    sources: [complaints]\n    item_code: X\n"
        "    condition: event.lat > 1.0\n    entity: address\n    level: blue\n"
        "    score: 1\n    examples:\n"
        "      - {name: a, fire: true, event: {lat: 30.2, address: x}}\n"
        "      - {name: b, fire: false, event: {lat: 0.5, address: x}}\n"
        for i in ids
    )
    engine = RuleEngine([load_pack_text("name: p\nversion: 1.0.0\nowner: t\nrules:\n" + body)])
    event = {"event_id": "e", "event_time": "2026-12-01T00:00:00Z", "address": "a", "lat": 30.0}
    assert engine.concerned("complaints", event, set(ids)) == ids
    assert engine.concerned("complaints", event, {"p.m", "p.z"}) == ["p.z", "p.m"]
