"""Complement naive Bayes with per-prediction cost O(classes × words in the document).

River's ``naive_bayes.ComplementNB`` rebuilds every class's complement counts over the whole
vocabulary on each prediction, which is O(classes × vocabulary × words): seconds per complaint
once the vocabulary reaches tens of thousands of words. The complement total of a class is
``Σ_f (total_f + α − count_cf) = T + α·V − total_c``, so it can be kept as three running sums.
Same model, same numbers as River's (a unit test compares them), usable on a hotline's volume.

>>> m = ComplementNB()
>>> m.learn_one({"垃圾": 2.0, "小区": 1.0}, "环境保护")
>>> m.learn_one({"工资": 2.0, "拖欠": 1.0}, "劳动和社会保障")
>>> m.predict_one({"拖欠": 1.0})
'劳动和社会保障'
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from river import base
from river.base import tags

if TYPE_CHECKING:
    from collections.abc import Iterable


def _counts() -> defaultdict[Any, float]:
    """Per-class counts of one word in snapshots of older releases (they pickled this factory
    by name): kept so those still load."""
    return defaultdict(float)


class ComplementNB(base.Classifier):
    """Complement naive Bayes over term counts (Rennie et al., 2003), fully online."""

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha
        # Plain dicts, not defaultdicts: the model is pickled at every checkpoint of its
        # partition (streams/model_state.py), and a defaultdict per word pickled ~5× slower
        # (7.3 against 1.3 ms for a 3,600-word vocabulary, bench/RESULTS.md 2026-12-02).
        # A snapshot of an older release (defaultdicts) still loads: these are dicts too.
        self.class_counts: Counter[Any] = Counter()
        self.feature_counts: dict[Any, dict[Any, float]] = {}
        self.feature_totals: dict[Any, float] = {}
        self.class_totals: dict[Any, float] = {}
        self.total = 0.0

    @property
    def _multiclass(self) -> bool:
        """Any number of classes (the complaint categories), as River's naive Bayes models say:
        River's ``check_estimator`` holds a classifier that does not say so to binary output."""
        return True

    def _more_tags(self) -> set[str]:
        """Term counts are never negative (River's naive Bayes models carry the same tag)."""
        return {tags.POSITIVE_INPUT}

    def learn_one(self, x: dict[Any, Any], y: Any, **kwargs: Any) -> None:
        """Count one document's words for class ``y``: O(words), whatever the vocabulary size."""
        self.class_counts[y] += 1
        feature_counts, feature_totals = self.feature_counts, self.feature_totals
        class_total = self.class_totals.get(y, 0.0)
        total = self.total
        for f, frequency in x.items():
            counts = feature_counts.get(f)
            if counts is None:
                counts = feature_counts[f] = {}
            counts[y] = counts.get(y, 0.0) + frequency
            feature_totals[f] = feature_totals.get(f, 0.0) + frequency
            class_total += frequency  # summed in the same order as before: same floats
            total += frequency
        self.class_totals[y] = class_total
        self.total = total

    def score_then_learn(
        self, x: dict[Any, Any], y: Any, classes: Iterable[Any] | None = None
    ) -> dict[Any, float]:
        """``joint_log_likelihood(x, classes)``, then ``learn_one(x, y)``, in one pass over x.

        Why: score, then learn read each word's counts twice (two dict look-ups and an
        iteration per word, ~10 % of both); a word's score reads only its own counts, so each
        can be learnt right after it is scored. The same floats as the two calls: every sum in
        the same order, the vocabulary size and the class totals read before learning.
        """
        return self._pass(x, classes, learn=True, y=y)

    def joint_log_likelihood(
        self, x: dict[Any, Any], classes: Iterable[Any] | None = None
    ) -> dict[Any, float]:
        """Per class, −Σ_f x_f · log((T_f + α − n_cf) / (T + αV − T_c)); ``classes``: only these.

        Most words were never seen with most classes (n_cf = 0), so the sum is computed once
        with n_cf = 0 for all classes and corrected only where a class has seen the word:
        O(words + word-class pairs seen) instead of O(classes × words), same numbers.
        """
        return self._pass(x, classes, learn=False)

    def _pass(
        self, x: dict[Any, Any], classes: Iterable[Any] | None, *, learn: bool, y: Any = None
    ) -> dict[Any, float]:
        """The joint log-likelihoods of x; with ``learn``, each word learnt for ``y`` once
        scored (:meth:`score_then_learn`), as :meth:`learn_one` learns it."""
        wanted = list(self.class_counts if classes is None else classes)
        # the same arithmetic in the same order as ever (same floats, same predictions), with
        # the attribute and global look-ups of the inner loop bound once: this loop is most of
        # a complaint's scoring (it runs over every word-class pair seen)
        log = math.log
        alpha = self.alpha
        feature_counts, feature_totals = self.feature_counts, self.feature_totals
        class_totals = self.class_totals
        base = self.total + alpha * len(feature_counts)
        complements = {c: base - class_totals.get(c, 0.0) for c in wanted}  # before learning
        class_total = class_totals.get(y, 0.0)
        total = self.total
        shared = 0.0
        mass = 0.0
        correction = dict.fromkeys(wanted, 0.0)
        for f, frequency in x.items():
            counts = feature_counts.get(f)
            if counts is None:
                shared -= frequency * log(alpha)
            else:
                total_f = feature_totals[f]
                top = total_f + alpha
                log_top = log(top)
                shared -= frequency * log_top
                for c, n in counts.items():
                    if n and c in correction:
                        correction[c] -= frequency * (log(top - n) - log_top)
            mass += frequency
            if learn:  # what learn_one does, in its order: the same floats
                if counts is None:
                    feature_counts[f] = {y: 0.0 + frequency}
                    feature_totals[f] = feature_totals.get(f, 0.0) + frequency
                else:
                    counts[y] = counts.get(y, 0.0) + frequency
                    feature_totals[f] = total_f + frequency
                class_total += frequency
                total += frequency
        if learn:
            self.class_counts[y] += 1
            class_totals[y] = class_total
            self.total = total
        return {c: shared + correction[c] + mass * log(complements[c]) for c in wanted}

    def proba(self, jll: dict[Any, float]) -> dict[Any, float]:
        """Class probabilities of joint log-likelihoods (their softmax); empty for none."""
        if not jll:
            return {}
        top = max(jll.values())
        exp = {c: math.exp(v - top) for c, v in jll.items()}
        norm = sum(exp.values())
        return {c: v / norm for c, v in exp.items()}

    def predict_proba_one(self, x: dict[Any, Any], **kwargs: Any) -> dict[Any, float]:
        """Class probabilities (softmax of the joint log-likelihoods); empty before any learning."""
        return self.proba(self.joint_log_likelihood(x))
