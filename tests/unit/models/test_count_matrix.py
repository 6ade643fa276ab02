"""The complement naive Bayes scores over its count matrix (models/count_matrix.py) are the
floats of the loop over word-class pairs they replaced, bit for bit: the same predictions, the
same urgency scores, the same snapshots (issue #16)."""

from __future__ import annotations

import math
import pickle
import random
from typing import Any

import pytest

from models import log_table
from models.cnb import ComplementNB
from models.complaints import ComplaintClassifier

from .conftest import stream


def loop_jll(model: ComplementNB, x: dict[Any, float], classes: Any = None) -> dict[Any, float]:
    """``joint_log_likelihood`` as it was before the matrix (models/cnb.py of be413b6)."""
    wanted = list(model.class_counts if classes is None else classes)
    log, alpha = math.log, model.alpha
    shared = mass = 0.0
    correction = dict.fromkeys(wanted, 0.0)
    for f, frequency in x.items():
        counts = model.feature_counts.get(f)
        if counts is None:
            shared -= frequency * log(alpha)
            mass += frequency
            continue
        top = model.feature_totals[f] + alpha
        log_top = log(top)
        shared -= frequency * log_top
        mass += frequency
        for c, n in counts.items():
            if n and c in correction:
                correction[c] -= frequency * (log(top - n) - log_top)
    base = model.total + alpha * len(model.feature_counts)
    return {
        c: shared + correction[c] + mass * log(base - model.class_totals.get(c, 0.0))
        for c in wanted
    }


def bits(jll: dict[Any, float]) -> dict[Any, str]:
    return {c: v.hex() for c, v in jll.items()}


@pytest.mark.parametrize("alpha", [1.0, 0.3, 2.0])
@pytest.mark.parametrize("weight", [1.0, 0.5])
def test_scores_are_the_loops_floats(alpha: float, weight: float) -> None:
    """Whole counts (looked-up logarithms) and fractional ones (computed), words never seen,
    classes never learnt, an empty document: every score is the old loop's, to the bit."""
    clf = ComplaintClassifier(tokens="char2", prior_weight=0)
    model = ComplementNB(alpha=alpha)
    rng = random.Random(5)
    for i, event in enumerate(stream("complaints", 60)):
        x = {f: weight * c for f, c in clf.features(clf.coerce(event)).items()}
        x[f"never-{i}"] = 3.0  # a word no class has seen yet
        if model.class_counts:
            known = sorted(model.class_counts)
            wanted = [*rng.sample(known, min(2, len(known))), "a class never learnt"]
            assert bits(model.joint_log_likelihood(x, wanted)) == bits(loop_jll(model, x, wanted))
            assert bits(model.joint_log_likelihood(x)) == bits(loop_jll(model, x))
            assert bits(model.joint_log_likelihood({})) == bits(loop_jll(model, {}))
        model.learn_one(x, event["category"])
    assert len(model.class_counts) > 2


def test_dicts_changed_behind_the_matrix_are_read_again() -> None:
    """A model whose dicts were written directly (as an older release's snapshot loads, or a
    test does) scores from the dicts, not from a matrix built before."""
    model = ComplementNB()
    model.learn_one({"a": 2.0, "b": 1.0}, "x")
    model.learn_one({"b": 3.0}, "y")
    before = model.joint_log_likelihood({"a": 1.0, "b": 1.0})
    model.feature_counts["a"]["y"] = 5.0
    model.feature_totals["a"] += 5.0
    model.class_totals["y"] += 5.0
    model.total += 5.0
    after = model.joint_log_likelihood({"a": 1.0, "b": 1.0})
    assert after != before
    assert bits(after) == bits(loop_jll(model, {"a": 1.0, "b": 1.0}))
    model.learn_one({"a": 1.0, "c": 1.0}, "x")
    assert bits(model.joint_log_likelihood({"a": 1.0, "c": 2.0})) == bits(
        loop_jll(model, {"a": 1.0, "c": 2.0})
    )


def test_the_matrix_is_not_in_the_snapshot() -> None:
    """A model pickles to the same bytes whether or not it has scored (the matrix is derived),
    and an unpickled one scores the same."""
    a, b = ComplementNB(), ComplementNB()
    for model in (a, b):
        model.learn_one({"垃圾": 2.0, "小区": 1.0}, "环境保护")
        model.learn_one({"工资": 2.0, "拖欠": 1.0}, "劳动和社会保障")
    scored = a.joint_log_likelihood({"拖欠": 1.0, "小区": 2.0})
    assert a.__dict__.get("_matrix") is not None
    assert pickle.dumps(a) == pickle.dumps(b)
    assert pickle.loads(pickle.dumps(a)).joint_log_likelihood({"拖欠": 1.0, "小区": 2.0}) == scored


def test_logs_are_math_log_to_the_bit() -> None:
    values = [1.0, 2.0, 3.0, 1000.0, 123456.0, 2.5, 1e-3, float(log_table.TABLE_LIMIT + 7)]
    assert [v.hex() for v in log_table.logs(values).tolist()] == [math.log(v).hex() for v in values]
    whole = [float(v) for v in range(1, 5000, 7)]
    assert log_table.logs(whole).tolist() == [math.log(v) for v in whole]
    assert log_table.logs([[4.0, 9.0], [16.0, 25.0]]).shape == (2, 2)
    for bad in (0.0, -2.0):
        with pytest.raises(ValueError, match="math domain error"):
            log_table.logs([1.0, bad])
