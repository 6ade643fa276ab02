"""The dense ComplementNB (models/cnb.py) against a plain reference: per word a dict of counts
per class, each document's likelihood summed word by word with ``math.log``. Scores agree
within 1e-9 (numpy sums in another order: the last bits differ); what learning stores is the
same to the bit; a snapshot of an older release (dicts, defaultdicts) loads and learns on."""

from __future__ import annotations

import math
import pickle
from collections import Counter, defaultdict
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from models.cnb import ComplementNB, _counts

WORDS = [f"w{i}" for i in range(40)]  # some seen, some never: a document draws from all
CLASSES = ["a", "b", "c", "d", "e", "f"]  # more than a new model's 4 columns: they grow


class Reference:
    """Complement naive Bayes as written in the paper, over dicts; no tuning at all."""

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha
        self.counts: dict[str, dict[str, float]] = {}
        self.totals: dict[str, float] = {}
        self.class_totals: dict[str, float] = {}
        self.class_counts: Counter[str] = Counter()
        self.total = 0.0

    def learn(self, x: dict[str, float], y: str) -> None:
        self.class_counts[y] += 1
        self.class_totals.setdefault(y, 0.0)
        for f, v in x.items():
            row = self.counts.setdefault(f, {})
            row[y] = row.get(y, 0.0) + v
            self.totals[f] = self.totals.get(f, 0.0) + v
            self.class_totals[y] = self.class_totals.get(y, 0.0) + v
            self.total += v

    def jll(self, x: dict[str, float], classes: list[str]) -> dict[str, float]:
        out = {}
        vocabulary = len(self.counts)
        for c in classes:
            complement = self.total + self.alpha * vocabulary - self.class_totals.get(c, 0.0)
            s = 0.0
            for f, v in x.items():
                top = self.totals.get(f, 0.0) + self.alpha - self.counts.get(f, {}).get(c, 0.0)
                s -= v * math.log(top / complement)
            out[c] = s
        return out


documents = st.dictionaries(
    st.sampled_from(WORDS),
    st.floats(min_value=0.25, max_value=40.0, allow_nan=False),
    min_size=1,  # a model that learnt only empty documents has no complement (log 0), as ever
    max_size=25,
)
steps = st.lists(
    st.tuples(documents, st.sampled_from(CLASSES), st.booleans()), min_size=1, max_size=40
)


def close(got: dict[str, float], want: dict[str, float]) -> bool:
    return got.keys() == want.keys() and all(
        math.isclose(got[c], want[c], rel_tol=1e-9, abs_tol=1e-9) for c in want
    )


@settings(max_examples=150, deadline=None)
@given(steps=steps, alpha=st.sampled_from([1.0, 0.3, 2.5]), subset=st.booleans())
def test_dense_scores_agree_with_the_reference(
    steps: list[tuple[dict[str, float], str, bool]], alpha: float, subset: bool
) -> None:
    """Random documents over seen and unseen words, learnt one by one (score, then learn, or
    ``score_then_learn``), scored over all classes learnt or over a subset with a class never
    learnt: within 1e-9 of the reference, and the counts learnt equal to the bit."""
    dense, reference = ComplementNB(alpha=alpha), Reference(alpha)
    for x, y, fused in steps:
        learnt = list(reference.class_counts)
        if not learnt:  # nothing learnt: no complement to divide by (log 0), as ever
            dense.learn_one(x, y)
            reference.learn(x, y)
            continue
        classes = [*learnt[:2], "never learnt"] if subset else learnt
        want = reference.jll(x, classes)
        assert close(dense.joint_log_likelihood(x, classes if subset else None), want)
        if fused:
            assert close(dense.score_then_learn(x, y, classes if subset else None), want)
        else:
            dense.learn_one(x, y)
        reference.learn(x, y)
    assert dense.feature_counts == {
        f: {c: v for c, v in row.items() if v} for f, row in reference.counts.items()
    }
    assert dense.feature_totals == reference.totals
    assert dense.vocabulary == list(reference.counts)
    assert (dense.class_totals, dense.total) == (reference.class_totals, reference.total)
    again = pickle.loads(pickle.dumps(dense))
    probe = dict.fromkeys(WORDS[::3], 1.0)
    assert again.joint_log_likelihood(probe) == dense.joint_log_likelihood(probe)


def test_a_broken_score_is_caught() -> None:
    """The comparison above fails on a wrong score (a class's counts read from another
    column): the check is not vacuous."""
    dense, reference = ComplementNB(), Reference(1.0)
    for x, y in [({"w1": 3.0, "w2": 1.0}, "a"), ({"w2": 2.0, "w3": 5.0}, "b")]:
        dense.learn_one(x, y)
        reference.learn(x, y)
    x = {"w1": 1.0, "w3": 2.0, "unseen": 1.0}
    assert close(dense.joint_log_likelihood(x), reference.jll(x, ["a", "b"]))
    dense._columns = {"a": 1, "b": 0}
    assert not close(dense.joint_log_likelihood(x), reference.jll(x, ["a", "b"]))


def test_the_arrays_grow_past_their_first_capacity() -> None:
    """More words than the first 256 rows and more classes than the first 4 columns."""
    dense, reference = ComplementNB(), Reference(1.0)
    for i in range(700):
        x = {f"g{i}": 1.0, f"g{i // 2}": 2.0, "common": 0.5}
        y = CLASSES[i % len(CLASSES)]
        assert close(dense.score_then_learn(x, y), reference.jll(x, list(reference.class_counts)))
        reference.learn(x, y)
    assert dense._counts.shape[0] > len(dense.vocabulary) == 701
    assert dense.feature_totals == reference.totals


def _older_release(model: Reference, *, default: bool) -> dict[str, Any]:
    """The pickled state of a ComplementNB of an older release: per-word dicts of counts per
    class (defaultdicts before 2026-12-02, plain dicts after)."""
    counts: Any = defaultdict(_counts) if default else {}
    for f, row in model.counts.items():
        counts[f] = defaultdict(float, row) if default else dict(row)
    totals = defaultdict(float, model.totals) if default else dict(model.totals)
    class_totals = defaultdict(float, model.class_totals) if default else dict(model.class_totals)
    return {
        "alpha": model.alpha,
        "class_counts": Counter(model.class_counts),
        "feature_counts": counts,
        "feature_totals": totals,
        "class_totals": class_totals,
        "total": model.total,
    }


def test_a_snapshot_of_an_older_release_loads_and_learns_on() -> None:
    """What unpickling does (``__new__``, then ``__setstate__`` with the pickled dict) with the
    state of older releases: the dense model it gives scores as the reference does, learns on
    as it does, and pickles again in the dense layout."""
    docs = [({"w1": 2.0, "w2": 1.0}, "b"), ({"w2": 4.0, "w9": 1.0}, "a"), ({"w3": 1.0}, "c")]
    for default in (True, False):
        reference = Reference(1.0)
        for x, y in docs:
            reference.learn(x, y)
        restored = ComplementNB.__new__(ComplementNB)
        restored.__setstate__(_older_release(reference, default=default))
        assert list(restored._columns) == ["b", "a", "c"]  # classes in the order first learnt
        x = {"w2": 1.0, "w3": 2.0, "new": 1.0}
        assert close(restored.joint_log_likelihood(x), reference.jll(x, ["b", "a", "c"]))
        restored.learn_one({"new": 3.0, "w1": 1.0}, "d")
        reference.learn({"new": 3.0, "w1": 1.0}, "d")
        assert close(restored.joint_log_likelihood(x), reference.jll(x, ["b", "a", "c", "d"]))
        again = pickle.loads(pickle.dumps(restored))
        assert "feature_counts" not in again.__getstate__()
        assert isinstance(again._counts, np.ndarray)
        assert type(again.class_totals) is dict
        assert again.feature_totals == reference.totals
