"""The shipped packs load, their examples all pass, and a backtest replays a recording."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from config.settings import PROJECT_ROOT
from rules.backtest import backtest
from rules.compiler import load_packs
from rules.engine import RuleEngine
from rules.pack_registry import PackRegistry
from rules.testing import run_examples
from schemas.validation.pii import address_key

PACKS = PROJECT_ROOT / "rules" / "packs"
Make = Callable[..., Any]


@pytest.fixture(scope="module")
def packs() -> list:
    return load_packs([PACKS])


def test_all_expected_packs_ship(packs: list) -> None:
    assert {p.name for p in packs} == {
        "equipment",
        "trucks",
        "complaints",
        "inspections",
        "cross_source",
    }


def test_every_example_of_every_shipped_pack_passes(packs: list) -> None:
    results = [r for p in packs for r in run_examples(p)]
    failed = [r for r in results if not r.passed]
    assert not failed, failed
    assert len(results) >= 40


def test_every_shipped_rule_has_fire_and_no_fire_examples_and_a_task(packs: list) -> None:
    for rule in (r for p in packs for r in p.rules):
        fires = {e.fire for e in rule.spec.examples}
        assert fires == {True, False}, rule.id
        assert rule.template is not None, rule.id


def test_shipped_packs_activate_together_and_share_one_engine(packs: list) -> None:
    reg = PackRegistry()
    assert all(reg.activate(p).accepted for p in packs)
    assert len(reg.engine().rule_ids) == sum(len(p.rules) for p in packs)


def test_dumping_routes_to_urban_management(packs: list, event: Make) -> None:
    engine = RuleEngine(packs)
    ev = event("truck_detections", kind="suspected_dumping", company_uscc="91110108MA01ABCD2X")
    (hit,) = engine.evaluate("truck_detections", ev, {})
    assert hit.task is not None
    assert hit.task.department == "urban_management"
    assert hit.uscc == "91110108MA01ABCD2X"


def test_food_poisoning_goes_red(packs: list, event: Make) -> None:
    hits = RuleEngine(packs).evaluate("complaints", event("complaints", text="吃完后上吐下泻"), {})
    assert [(h.rule_id, h.level.value) for h in hits] == [("complaints.food_poisoning", "red")]


def test_backtest_counts_hits_and_task_load(packs: list, event: Make) -> None:
    lines = [
        json.dumps(
            {"source": "complaints", "event": event("complaints", m * 60, uscc="U1", text="呕吐")}
        )
        for m in range(4)
    ]
    lines.append(json.dumps({"source": "equipment", "event": event("equipment", 0, trapped=True)}))
    lines.append(json.dumps({"source": "equipment", "event": event("equipment", 400)}))
    lines += ["not json", json.dumps({"source": "complaints"}), ""]
    report = backtest(packs, lines)
    assert report.events == 6
    assert len(report.bad_lines) == 2
    rows = {r[0]: r for r in report.rule_rows()}
    assert rows["complaints.food_poisoning"][2] == 4
    assert rows["complaints.surge_enterprise"][2] == 2  # 3rd and 4th complaint in 7 days
    assert rows["equipment.elevator_offline"][2] == 1  # silent from minute 0 to 400 → ticked
    # repeated hits on one warning are one task: 1 health (U1) + 1 surge + 1 emergency + 1 offline
    assert report.tasks == {
        "health": 1,
        "market_supervision": 1,
        "emergency": 1,
        "special_equipment": 1,
    }


def test_one_address_written_two_ways_repeats_under_its_pseudonym(packs: list, event: Make) -> None:
    """``complaints.repeat_address``: three complaints at one address — one with full-width
    digits and spaces — make one warning, whose entity is the address's pseudonym, never the
    house number (an entity id is never masked: Kafka keys, the alerts topic, logs)."""
    engine = RuleEngine(packs)
    state: dict[str, Any] = {}
    written = ["西湖区文三路90号3幢", "西湖区文三路９０号 3幢", "西湖区文三路90号3幢"]
    hits = [
        h
        for day, address in enumerate(written)
        for h in engine.evaluate(
            "complaints", event("complaints", day * 1440, text="油烟扰民", address=address), state
        )
        if h.rule_id == "complaints.repeat_address"
    ]
    assert [h.entity for h in hits] == [address_key("西湖区文三路90号3幢")]
    assert hits[0].entity.startswith("addr-")
    assert "90号" not in json.dumps(hits[0].model_dump(mode="json")["entity"])
