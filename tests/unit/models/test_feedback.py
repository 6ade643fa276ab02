"""Learning from the loop: a false alarm lowers that pattern's score, a confirmation does not."""

from __future__ import annotations

import random

from models.equipment import EquipmentAnomaly
from models.feedback import FalseAlarmMemory

from .conftest import equipment_event


def _trained(seed: int = 0) -> tuple[EquipmentAnomaly, random.Random]:
    model = EquipmentAnomaly(warmup=100, min_scores=30)
    rng = random.Random(seed)
    for i in range(300):
        model.process(equipment_event(i, rng))
    return model, rng


def test_false_alarm_lowers_that_patterns_score_next_time():
    model, rng = _trained()
    alert = model.process(equipment_event(300, rng, shift=3.0))
    assert alert.alert
    model.learn_label(alert.features, "false_alarm")  # 不属实
    again = model.score_one(equipment_event(301, random.Random(5), shift=3.0))
    assert again.score < 0.5 * alert.score
    # an unrelated pattern (current falls instead of rising) keeps its full score
    other = model.score_one(equipment_event(302, random.Random(5), shift=-3.0))
    assert other.alert


def test_confirmation_keeps_alerting():
    model, rng = _trained()
    alert = model.process(equipment_event(300, rng, shift=3.0))
    model.learn_label(alert.features, "confirmed")
    assert model.score_one(equipment_event(301, random.Random(5), shift=3.0)).alert


def test_disposition_results_map_to_labels():
    mem = FalseAlarmMemory()
    mem.learn({"z:a": 5.0}, "not_found")  # 查无此事 → false alarm
    assert mem.p_false({"z:a": 5.0}) > 0.5
    mem.learn({"z:a": 5.0}, "rectification")  # 责令整改 → confirmed
    mem.learn({"z:a": 5.0}, "confirmed")
    assert mem.p_false({"z:a": 5.0}) < 0.5


def test_unknown_label_says_what_to_send():
    model, _ = _trained()
    try:
        model.learn_label({"z:current": 4.0}, "maybe")
    except Exception as exc:  # noqa: BLE001
        assert "confirmed" in str(exc) and "false_alarm" in str(exc)
    else:
        raise AssertionError("an unknown label must be refused")
