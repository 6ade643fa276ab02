"""Hot loading: atomic swap, refusal of older versions and failing examples, rollback."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rules.pack_registry import PackRegistry, decides_alone
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
    assert status.accepted
    assert status.previous_version == "1.0.0"
    assert reg.active["test"] is v2
    assert snapshot["test"] is v1
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
    assert status.status == "refused"
    assert "a.one/should fire" in status.reason
    assert "test" not in reg.active


def test_refuses_rule_id_owned_by_another_pack(make_pack: Make) -> None:
    reg = PackRegistry()
    reg.activate(make_pack(rule(id="a.one"), name="first"))
    status = reg.activate(make_pack(rule(id="a.one"), name="second"))
    assert status.status == "refused"
    assert "'first'" in status.reason


def test_rollback_restores_previous_and_reports_removed_rules(make_pack: Make) -> None:
    reg = PackRegistry()
    reg.activate(make_pack(rule(id="a.one"), version="1.0.0"))
    status = reg.activate(make_pack(rule(id="a.two"), version="2.0.0"))
    assert status.removed_rules == ("a.one",)
    back = reg.rollback("test")
    assert back.accepted
    assert back.version == "1.0.0"
    assert back.removed_rules == ("a.two",)
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
    assert status.status == "refused"
    assert "owner" in status.reason
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


def _publication(version: str, rollback_of: str | None = None) -> RulePackPublication:
    return RulePackPublication(
        name="test",
        version=version,
        content_hash="",
        yaml=pack_yaml([rule(id="a.one", score=int(version[0]) + 1)], version=version),
        published_by="m",
        published_at=datetime(2024, 5, 6, tzinfo=UTC),
        rollback_of=rollback_of,
    )


def test_rollback_must_name_the_active_version(make_pack: Make) -> None:
    reg = PackRegistry()
    reg.activate(make_pack(rule(id="a.one"), version="3.0.0"))
    status = reg.activate_publication(_publication("1.0.0", rollback_of="9.0.0"))
    assert status.status == "refused"
    assert "not the active version 3.0.0" in status.reason
    assert reg.active["test"].version == "3.0.0"


def test_rollback_must_go_back(make_pack: Make) -> None:
    reg = PackRegistry()
    reg.activate(make_pack(rule(id="a.one"), version="3.0.0"))
    status = reg.activate_publication(_publication("1.0.0", rollback_of="0.1.0"))
    assert status.status == "refused"
    assert "not older" in status.reason


def test_rollback_after_compaction_is_a_step_forward(make_pack: Make) -> None:
    """Only the rollback record is left: it moves on from the shipped 1.0.0, no exemption."""
    reg = PackRegistry()
    reg.activate(make_pack(rule(id="a.one"), version="1.0.0"))
    assert reg.activate_publication(_publication("2.0.0", rollback_of="3.0.0")).accepted


def test_the_latest_record_decides_alone_only_when_it_is_the_newest_version() -> None:
    records = [_publication(v).model_dump_json().encode() for v in ("1.0.0", "2.0.0", "3.0.0")]
    assert decides_alone(records) == records[-1:]
    back = _publication("2.0.0", rollback_of="3.0.0").model_dump_json().encode()
    assert decides_alone([*records, back]) == []
    assert decides_alone([records[2], records[1]]) == []  # an older one published after
    assert decides_alone([*records, None]) == [None]
    assert decides_alone([*records, b"[" * 100_000]) == []
    assert decides_alone([b"[" * 100_000, records[0]]) == []
