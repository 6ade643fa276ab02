"""The inspection model's risk in the "双随机" draw (loop/sampling.py, issue #18): kept on the
profile when an inspection is scored, multiplying the class weight by the model's relative
risk; profiles it never scored, and a draw with ``use_model=False``, weigh by class alone."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from loop.decide.profiles import source_profile_event
from loop.loop_config import ProfileConfig
from loop.profile import EntityProfile, record
from loop.sampling import DEFAULT_RATIOS, sample
from schemas.errors import ConfigError
from schemas.records import InspectionResult

from .conftest import T0, USCC

if TYPE_CHECKING:
    from collections.abc import Callable

    from schemas.scores import ModelScore

CFG = ProfileConfig(half_life_days=30)


def _pool() -> list[EntityProfile]:
    """Two class-D enterprises the model rates 40% and 10%, one class B it never scored."""
    return [
        EntityProfile(uscc="U1", risk_class="D", model_risk=0.4, model_risk_at=T0),
        EntityProfile(uscc="U2", risk_class="D", model_risk=0.1, model_risk_at=T0),
        EntityProfile(uscc="U3", risk_class="B"),
    ]


def test_without_model_risk_the_weights_are_the_class_ratios() -> None:
    picks = sample([p.model_copy(update={"model_risk": None}) for p in _pool()], 3, seed=1)
    assert {p.uscc: p.weight for p in picks} == {"U1": 8.0, "U2": 8.0, "U3": 2.0}
    assert all(p.model_risk is None and p.model_factor == 1.0 for p in picks)
    assert not any("inspection model" in p.explanation for p in picks)
    # and the model can be left out of a draw of scored profiles: the same list, weights
    alone = sample(_pool(), 3, seed=1, use_model=False)
    assert [(p.uscc, p.weight) for p in alone] == [(p.uscc, p.weight) for p in picks]


def test_the_model_multiplies_the_class_weight_by_its_relative_risk() -> None:
    picks = {p.uscc: p for p in sample(_pool(), 3, seed=1)}
    # mean model risk of the scored ones: 0.25; the unscored keeps its class weight
    assert picks["U1"].model_factor == pytest.approx(1.6)
    assert picks["U1"].weight == pytest.approx(8 * 1.6)
    assert picks["U2"].weight == pytest.approx(8 * 0.4)
    assert picks["U3"].weight == DEFAULT_RATIOS["B"]
    assert picks["U3"].model_risk is None
    assert sum(p.share for p in picks.values()) == pytest.approx(1.0)
    why = picks["U1"].explanation
    assert "×1.6 for the inspection model" in why
    assert "40.0% likely, 1.60× the mean 25.0% of 2 scored enterprises" in why
    assert "= 12.8" in why


def test_the_factor_is_clipped_and_the_bounds_checked() -> None:
    pool = [*_pool(), EntityProfile(uscc="U4", risk_class="A", model_risk=0.001)]
    picks = {p.uscc: p for p in sample(pool, 4, seed=1, model_bounds=(0.5, 1.5))}
    assert picks["U1"].model_factor == 1.5
    assert picks["U4"].model_factor == 0.5
    assert "kept within ×1.5" in picks["U1"].explanation
    with pytest.raises(ConfigError):
        sample(pool, 1, seed=1, model_bounds=(2.0, 4.0))


def test_the_model_riskier_enterprise_is_drawn_more_often() -> None:
    firsts = Counter(sample(_pool(), 1, seed=seed)[0].uscc for seed in range(3000))
    # weights 12.8 : 3.2 : 2 → shares 71% : 18% : 11%; by class alone U1 and U2 tie
    assert firsts["U1"] > 3 * firsts["U2"]
    assert 0.65 < firsts["U1"] / 3000 < 0.77


def test_the_profile_keeps_the_newest_model_risk_by_event_time() -> None:
    p = record(None, USCC, "inspection_pass", T0, "i2", config=CFG, model_risk=0.3)
    late = record(
        p, USCC, "inspection_fail", T0 - timedelta(days=5), "i1", config=CFG, model_risk=0.9
    )
    assert (late.model_risk, late.model_risk_at) == (0.3, T0)
    newer = record(late, USCC, "complaint", T0 + timedelta(days=1), "c1", config=CFG)
    assert newer.model_risk == 0.3  # an event without a model score leaves it
    assert EntityProfile.model_validate_json(newer.model_dump_json()) == newer


def test_an_inspection_carries_its_live_warmed_up_inspection_score(
    make_score: Callable[..., ModelScore],
) -> None:
    insp = InspectionResult.model_validate(
        {
            "event_id": "i1",
            "event_time": T0,
            "uscc": USCC,
            "entity_name": "某餐饮店",
            "region_code": "330106",
            "item_code": "FOOD",
            "outcome": "pass",
        }
    )
    live = make_score(source="inspections", score=0.42, warmed_up=True)
    shadow = make_score(source="inspections", score=0.9, warmed_up=True, mode="shadow")
    cold = make_score(source="inspections", score=0.0, warmed_up=False)
    event = source_profile_event("inspections", insp, scores=[shadow, cold, live])
    assert event is not None
    assert event.model_risk == 0.42
    only_cold = source_profile_event("inspections", insp, scores=[cold])
    assert only_cold is not None
    assert only_cold.model_risk is None
