"""Hot loading: atomic swap, refusal of older versions and failing examples, rollback."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rules.registry import PackRegistry
from schemas.records import RulePackPublication
from tests.unit.rules.conftest import pack_yaml, rule

Make = Callable[..., Any]


def test_activate_swaps_and_keeps_history(make_pack: Make) -> None:
    reg = PackRegistry()
    v1 = make_pack(rule(id="a.one"), version="1.0.0")
    v2 = make_pack(rule(id="a.one", level="red"), version="1.1.0")
    assert reg.activate(v1).status == "accepted"
    engine_v1 = reg.engine()
    snapshot = reg.active
    status = reg.activate(v2)
    assert status.accepted and status.previous_version == "1.0.0"
    assert reg.active["test"] is v2 and snapshot["test"] is v1  # old snapshot untouched
    assert reg.engine() is not engine_v1
    assert [p.version for p in reg.history("test")] == ["1.0.0"]


def test_refuses_older_or_equal_version(make_pack: Make) -> None:
    reg = PackRegistry()
    reg.activate(make_pack(rule(id="a.one"), version="1.2.0"))
    older = reg.activate(make_pack(rule(id="a.one", score=10), version="1.1.0"))
    same = reg.activate(make_pack(rule(id="a.one", score=20), version="1.2.0"))
    assert older.status == same.status == "refused"
    assert "not newer than the active 1.2.0" in older.reason
    assert reg.active["test"].version == "1.2.0"


def test_same_content_is_unchanged(make_pack: Make) -> None:
    reg = PackRegistry()
    pack = make_pack(rule(id="a.one"))
    reg.activate(pack)
    assert reg.activate(make_pack(rule(id="a.one"))).status == "unchanged"


def test_refuses_pack_with_failing_example(make_pack: Make) -> None:
    reg = PackRegistry()
    bad = rule(
        id="a.one",
        examples=[
            {"name": "should fire", "fire": True, "event": {"outcome": "pass"}},
            {"name": "quiet", "fire": False, "event": {"outcome": "pass"}},
        ],
    )
    status = reg.activate(make_pack(bad))
    assert status.status == "refused" and "a.one/should fire" in status.reason
    assert "test" not in reg.active


def test_refuses_rule_id_owned_by_another_pack(make_pack: Make) -> None:
    reg = PackRegistry()
    reg.activate(make_pack(rule(id="a.one"), name="first"))
    status = reg.activate(make_pack(rule(id="a.one"), name="second"))
    assert status.status == "refused" and "'first'" in status.reason


def test_rollback_restores_previous_and_reports_removed_rules(make_pack: Make) -> None:
    reg = PackRegistry()
    reg.activate(make_pack(rule(id="a.one"), version="1.0.0"))
    status = reg.activate(make_pack(rule(id="a.two"), version="2.0.0"))
    assert status.removed_rules == ("a.one",)
    back = reg.rollback("test")
    assert back.accepted and back.version == "1.0.0" and back.removed_rules == ("a.two",)
    assert reg.active["test"].version == "1.0.0"
    assert reg.rollback("test").status == "refused"  # nothing further back


def test_publication_rollback_allows_older_version(make_pack: Make) -> None:
    reg = PackRegistry()
    reg.activate(make_pack(rule(id="a.one"), version="2.0.0"))
    text = pack_yaml([rule(id="a.one", score=5)], version="1.0.0")
    pub = RulePackPublication(
        name="test",
        version="1.0.0",
        content_hash="",
        yaml=text,
        published_by="modeller@example",
        published_at=datetime(2024, 5, 6, tzinfo=UTC),
        rollback_of="2.0.0",
    )
    assert reg.activate_publication(pub).accepted
    bad = pub.model_copy(update={"yaml": "name: test\nversion: 3.0.0\n", "version": "3.0.0"})
    status = reg.activate_publication(bad)
    assert status.status == "refused" and "owner" in status.reason
    assert reg.active["test"].version == "1.0.0"


def test_publication_hash_mismatch_refused(make_pack: Make) -> None:
    reg = PackRegistry()
    pub = RulePackPublication(
        name="test",
        version="1.0.0",
        content_hash="sha256:deadbeef",
        yaml=pack_yaml([rule(id="a.one")]),
        published_by="m",
        published_at=datetime(2024, 5, 6, tzinfo=UTC),
    )
    assert "hash" in reg.activate_publication(pub).reason
