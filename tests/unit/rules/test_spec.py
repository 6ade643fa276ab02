"""Pack validation: every problem is reported, naming the rule and the field."""

from __future__ import annotations

import pytest

from rules.compiler import content_hash, load_pack_text
from rules.errors import PackInvalid
from rules.spec import version_key
from tests.unit.rules.conftest import pack_yaml, rule


def problems(text: str) -> list[str]:
    with pytest.raises(PackInvalid) as info:
        load_pack_text(text, origin="p.yaml")
    return info.value.problems


def test_bad_level_names_rule_and_field() -> None:
    (line,) = problems(pack_yaml([rule(id="a.one", level="purple")]))
    assert line.startswith("rule a.one: level:")


def test_several_problems_reported_together() -> None:
    found = problems(
        pack_yaml([rule(id="a.one", score=500), rule(id="a.two", sources=["weather"])])
    )
    assert any(p.startswith("rule a.one: score:") for p in found)
    assert any(p.startswith("rule a.two: sources[0]:") for p in found)


def test_unknown_key_refused() -> None:
    (line,) = problems(pack_yaml([rule(id="a.one", severity="high")]))
    assert "rule a.one: severity:" in line


def test_duplicate_rule_ids() -> None:
    (line,) = problems(pack_yaml([rule(id="a.one"), rule(id="a.one")]))
    assert "a.one" in line
    assert "unique" in line


def test_examples_need_fire_and_no_fire() -> None:
    only_fire = [{"name": "x", "fire": True, "event": {}}, {"name": "y", "fire": True, "event": {}}]
    (line,) = problems(pack_yaml([rule(id="a.one", examples=only_fire)]))
    assert line.startswith("rule a.one:")
    assert "fire: false" in line


def test_bad_duration_names_window_field() -> None:
    window = {"kind": "duration", "for": "ten minutes"}
    (line,) = problems(pack_yaml([rule(id="a.one", window=window)]))
    assert line.startswith("rule a.one: window.for:")
    assert "'10m'" in line


def test_bad_version_and_yaml() -> None:
    text = pack_yaml([rule()]).replace("version: 1.0.0", "version: one")
    assert any(p.startswith("pack: version:") for p in problems(text))
    (line,) = problems("name: [unclosed")
    assert "not valid YAML at line" in line


def test_unknown_department() -> None:
    (line,) = problems(pack_yaml([rule(id="a.one", task={"department": "police"})]))
    assert line.startswith("rule a.one: task.department:")


def test_version_order() -> None:
    assert version_key("1.10.0") > version_key("1.9.3") > version_key("1.9.3-rc.2")
    assert version_key("1.9.3-rc.10") > version_key("1.9.3-rc.2")


def test_hash_ignores_comments_and_layout() -> None:
    a = load_pack_text(pack_yaml([rule()]))
    b = load_pack_text("# a comment\n" + pack_yaml([rule()]))
    assert a.content_hash == b.content_hash
    assert a.content_hash.startswith("sha256:")
    assert content_hash({"b": 1, "a": 2}) == content_hash({"a": 2, "b": 1})
