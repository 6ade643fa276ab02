"""Learning from the loop: a false alarm lowers that pattern's score, a confirmation does not."""

from __future__ import annotations

import copy
import random

import pytest

from models.equipment import EquipmentAnomaly
from models.false_alarm_memory import FalseAlarmMemory

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
    untaught = copy.deepcopy(model)
    model.learn_label(alert.features, "false_alarm")  # 不属实
    following = equipment_event(301, random.Random(5), shift=3.0)
    assert model.score_one(following).score < 0.5 * untaught.score_one(following).score
    # an unrelated pattern (current falls instead of rising) keeps its full score
    other = equipment_event(302, random.Random(5), shift=-3.0)
    assert model.score_one(other).score == pytest.approx(untaught.score_one(other).score, rel=1e-3)
    assert model.score_one(other).alert


@pytest.mark.parametrize(
    ("label", "silenced"), [("false_alarm", True), ("confirmed", False), (None, False)]
)
def test_operator_labels_on_a_persistent_shift(label, silenced):
    """Marking a new steady state 不属实 teaches it as normal; confirming keeps it alerting."""
    model, rng = _trained()
    alerts = []
    for i in range(300, 600):
        result = model.process(equipment_event(i, rng, shift=3.0))
        alerts.append(result.alert)
        if result.alert and label:
            model.learn_label(result.features, label)
    assert alerts[0]
    assert (sum(alerts[-100:]) <= 2) is silenced


def test_confirmation_keeps_alerting():
    model, rng = _trained()
    alert = model.process(equipment_event(300, rng, shift=3.0))
    model.learn_label(alert.features, "confirmed")
    assert model.score_one(equipment_event(301, random.Random(5), shift=3.0)).alert


def test_disposition_results_map_to_labels():
    mem = FalseAlarmMemory()
    mem.learn({"z:a": 5.0}, "not_found")  # 查无此事 → no label (schemas.labels)
    assert len(mem) == 0
    assert mem.p_false({"z:a": 5.0}) == 0.0
    mem.learn({"z:a": 5.0}, "false_alarm")  # 不属实
    assert mem.p_false({"z:a": 5.0}) > 0.5
    mem.learn({"z:a": 5.0}, "rectification")  # 责令整改 → confirmed
    mem.learn({"z:a": 5.0}, True)  # the loop's bool, as WorkerModels passes it
    assert len(mem) == 3
    assert mem.p_false({"z:a": 5.0}) < 0.5


def test_not_found_teaches_a_model_nothing():
    """查无此事 is no evidence the model was wrong: the model and its drift watch stay as they
    were, exactly as the loop sends no label for it (``loop.closed_loop``)."""
    model, rng = _trained()
    alert = model.process(equipment_event(300, rng, shift=3.0))
    untouched = copy.deepcopy(model)
    model.learn_label(alert.features, "not_found")
    assert model.observe_disposition("not_found") is None
    following = equipment_event(301, random.Random(5), shift=3.0)
    assert model.score_one(following) == untouched.score_one(following)
    assert model.drift._n_confirmed == untouched.drift._n_confirmed  # no disposition counted


def test_unknown_label_says_what_to_send():
    model, _ = _trained()
    with pytest.raises(Exception, match="confirmed") as refused:
        model.learn_label({"z:current": 4.0}, "maybe")
    assert "false_alarm" in str(refused.value)
