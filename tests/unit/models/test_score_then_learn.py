"""Score, then learn in one pass over a complaint's words (``ComplementNB.score_then_learn``,
``ComplaintClassifier.process``) gives the verdicts and the state of the two passes it replaced,
to the bit (issue #16)."""

from __future__ import annotations

import copy
import pickle
import random
import types
from typing import Any

import pytest

from models.base import SourceModel
from models.cnb import ComplementNB
from models.complaints import ComplaintClassifier

from .conftest import stream


def state(model: ComplementNB) -> bytes:
    return pickle.dumps(model)


@pytest.mark.parametrize("alpha", [1.0, 0.3])
def test_score_then_learn_is_score_and_learn(alpha: float) -> None:
    """Words never seen, a class never learnt, the classes argument: the scores (as float
    bits) and the learnt state (as pickled bytes, word and class order included) are those of
    ``joint_log_likelihood`` followed by ``learn_one``."""
    clf = ComplaintClassifier(tokens="char2", prior_weight=0)
    fused, apart = ComplementNB(alpha=alpha), ComplementNB(alpha=alpha)
    rng = random.Random(3)
    for i, event in enumerate(stream("complaints", 50)):
        x = {f: 0.5 * c for f, c in clf.features(clf.coerce(event)).items()}
        x[f"never-{i}"] = 2.0
        y = event["category"] if i % 7 else f"new class {i}"
        known = sorted(apart.class_counts)
        classes: Any = rng.choice([None, [*known[:2], "never learnt"]])
        expected = apart.joint_log_likelihood(x, classes)
        apart.learn_one(x, y)
        got = fused.score_then_learn(x, y, classes)
        assert {c: v.hex() for c, v in got.items()} == {c: v.hex() for c, v in expected.items()}
        assert state(fused) == state(apart)
    assert len(apart.class_counts) > 5


def test_process_is_score_then_learn() -> None:
    """The classifier's one-pass ``process`` against ``SourceModel.process`` (score, then
    learn): complaints with and without category or urgency, corrections in between; the same
    ModelScores and the same snapshot."""
    fused, apart = ComplaintClassifier(min_labels=5), ComplaintClassifier(min_labels=5)
    apart.process = types.MethodType(SourceModel.process, apart)  # type: ignore[method-assign]
    rng = random.Random(11)
    for i, labelled in enumerate(stream("complaints", 120, seed=4)):
        event = {**labelled, "category": None} if i % 5 == 1 else labelled
        if i % 4 == 2:
            event = {**event, "urgency": None}
        assert fused.process(event) == apart.process(event)
        if i % 9 == 0:
            features = fused.features(fused.coerce(event))
            label = rng.choice(["category:城乡建设", "urgency:urgent", True])
            fused.learn_label(features, label)
            apart.learn_label(features, label)
    assert fused.warmed_up
    del apart.process  # not to be pickled
    assert pickle.dumps(fused) == pickle.dumps(apart)  # the drift monitor included


def test_other_classifiers_still_score_then_learn() -> None:
    """``classifier="nb"`` (River's MultinomialNB) has no one-pass method: process scores, then
    learns, as before."""
    model = ComplaintClassifier(classifier="nb", min_labels=3)
    events = stream("complaints", 30, seed=2)
    reference = copy.deepcopy(model)
    for event in events:
        assert model.process(event) == SourceModel.process(reference, event)
