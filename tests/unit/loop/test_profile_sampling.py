from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from loop.loop_config import ProfileConfig
from loop.profile import EntityProfile, classify, inspection_kind, record, score_at, warning_kind
from loop.sampling import sample
from schemas.errors import ConfigError
from schemas.records import InspectionOutcome, Level

from .conftest import T0, USCC

CFG = ProfileConfig(half_life_days=30)


def test_counts_history_and_decay() -> None:
    p = record(
        None,
        USCC,
        inspection_kind(InspectionOutcome.failed),
        T0,
        "i1",
        config=CFG,
        region_code="330106",
    )
    p = record(p, USCC, "complaint", T0, "c1", config=CFG)
    p = record(p, USCC, warning_kind(Level.red), T0, "a1", config=CFG)
    assert p.counts == {"inspection": 1, "complaint": 1, "warning": 1}
    assert p.score == 7.0
    assert p.risk_class == "D"
    assert p.region_code == "330106"
    assert score_at(p, T0 + timedelta(days=30), CFG) == pytest.approx(3.5)
    assert classify(score_at(p, T0 + timedelta(days=90), CFG), CFG) == "A"
    assert EntityProfile.model_validate_json(p.model_dump_json()) == p


def test_replays_are_not_counted_twice_and_late_events_are_decayed() -> None:
    p = record(None, USCC, "complaint", T0 + timedelta(days=30), "c1", config=CFG)
    assert record(p, USCC, "complaint", T0 + timedelta(days=30), "c1", config=CFG) == p
    late = record(p, USCC, "complaint", T0, "c0", config=CFG)
    assert late.score == pytest.approx(1.5)
    assert late.score_at == p.score_at
    assert [e.ref for e in late.recent] == ["c0", "c1"]


def test_score_never_negative_and_history_bounded() -> None:
    cfg = ProfileConfig(max_recent=3)
    p = None
    for i in range(5):
        p = record(p, USCC, "inspection_pass", T0 + timedelta(days=i), f"i{i}", config=cfg)
    assert p is not None
    assert p.score == 0.0
    assert len(p.recent) == 3
    assert p.counts["inspection"] == 5


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="B <= C <= D"):
        ProfileConfig(thresholds={"B": 5, "C": 3, "D": 6})


def population() -> list[EntityProfile]:
    classes = ["D"] * 10 + ["C"] * 20 + ["B"] * 30 + ["A"] * 140
    return [
        EntityProfile(uscc=f"U{i:04d}", risk_class=c, region_code="330106" if i % 2 else "330206")
        for i, c in enumerate(classes)
    ]


def test_same_seed_same_list_in_any_input_order() -> None:
    ps = population()
    a = sample(ps, 20, seed=2024)
    assert a == sample(list(reversed(ps)), 20, seed=2024)
    assert [p.uscc for p in a] != [p.uscc for p in sample(ps, 20, seed=2025)]
    assert len({p.uscc for p in a}) == 20  # without replacement
    assert "class" in a[0].explanation
    assert a[0].rank == 1


def test_high_risk_class_is_over_represented() -> None:
    ps = population()
    picks = Counter(p.risk_class for seed in range(200) for p in sample(ps, 20, seed=seed))
    share_d = picks["D"] / sum(picks.values())
    assert share_d > 2 * (10 / 200)  # population share is 5 %
    assert picks["A"] / sum(picks.values()) < 140 / 200


def test_region_filter_and_edge_cases() -> None:
    ps = population()
    assert all(
        p.uscc in {q.uscc for q in ps if q.region_code == "330106"}
        for p in sample(ps, 10, region="330106", seed=1)
    )
    assert len(sample(ps, 500, seed=1)) == 200
    assert {
        p.risk_class for p in sample(ps, 200, seed=1, ratios={"A": 0, "B": 1, "C": 1, "D": 1})
    } == {"B", "C", "D"}
    with pytest.raises(ConfigError, match="no sampling ratio"):
        sample(ps, 1, seed=1, ratios={"A": 1})


def test_classes_recomputed_at_now() -> None:
    p = record(None, USCC, warning_kind(Level.red), T0, "a1", config=ProfileConfig())
    assert p.risk_class == "C"
    (pick,) = sample([p], 1, seed=0, now=T0 + timedelta(days=365), config=ProfileConfig())
    assert pick.risk_class == "A"
