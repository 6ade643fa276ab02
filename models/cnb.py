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

import numpy as np
from river import base
from river.base import tags

from models.count_matrix import CountMatrix
from models.log_table import logs

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
        self._matrix: CountMatrix | None = None
        """The counts as a matrix for scoring (:mod:`models.count_matrix`): derived from the
        dicts when first needed, kept by ``learn_one``, never pickled."""

    def __getstate__(self) -> dict[str, Any]:
        """The dicts and totals, as ever: the matrix is rebuilt from them when needed (a
        snapshot's bytes are those of a model without it)."""
        state = dict(self.__dict__)
        state.pop("_matrix", None)
        return state

    def _counts_matrix(self) -> CountMatrix:
        """The matrix of the counts, built from the dicts if it is missing or out of step."""
        matrix = self.__dict__.get("_matrix")  # absent in a model unpickled from a snapshot
        if matrix is None or not matrix.in_step(len(self.feature_counts), self.total):
            matrix = CountMatrix.of(self.feature_counts, self.feature_totals, total=self.total)
            self._matrix = matrix
        return matrix

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
        matrix = self.__dict__.get("_matrix")
        if matrix is not None and not matrix.in_step(len(self.feature_counts), self.total):
            matrix = self._matrix = None  # the dicts changed behind its back: rebuilt on use
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
        if matrix is not None:
            matrix.learn(x.keys(), x.values(), y, total=total)

    def joint_log_likelihood(
        self, x: dict[Any, Any], classes: Iterable[Any] | None = None
    ) -> dict[Any, float]:
        """Per class, −Σ_f x_f · log((T_f + α − n_cf) / (T + αV − T_c)); ``classes``: only these.

        The sum is computed once with n_cf = 0 for all classes (the words' ``shared`` part) and
        corrected per class by the counts of x's words (the matrix's rows of x's words, one
        numpy call each instead of a Python iteration per word-class pair: ~5× faster, issue
        #16), with the same floats as the loop it replaces.
        """
        wanted = list(self.class_counts if classes is None else classes)
        alpha = self.alpha
        matrix = self._counts_matrix()
        rows = matrix.rows(x)  # a word never learnt: row NONE, all zeros (total 0, n_cf 0)
        frequencies = np.fromiter(x.values(), np.float64, len(x))
        # one gather: each word's total, its counts of the wanted classes, and a zero (n = 0);
        # one logarithm call: log(top − n_cf) of every word and wanted class, and log(top)
        counts = matrix.counts[rows[:, None], matrix.columns(wanted)]
        tops = counts[:, 0] + alpha
        logs_ = logs(tops[:, None] - counts[:, 1:])
        log_tops = logs_[:, -1]
        # Each sum runs over x's words in x's order, one term at a time from 0.0 (subtract's
        # reduce is a left fold: numpy sums pairwise only with add): the floats of the loop
        # over x that this replaces. A class that has not seen a word (n = 0) subtracts
        # frequency × (log(top) − log(top)) = 0.0, which changes nothing, as skipping it did.
        shared = float(np.subtract.reduce(frequencies * log_tops, initial=0.0))
        mass = -float(np.subtract.reduce(frequencies, initial=-0.0))  # −0 − a − b = −(0 + a + b)
        terms = frequencies[:, None] * (logs_[:, :-1] - log_tops[:, None])
        correction = np.subtract.reduce(terms, axis=0, initial=0.0).tolist()
        base = self.total + alpha * len(self.feature_counts)
        class_totals = self.class_totals
        return {
            c: shared + fix + mass * math.log(base - class_totals.get(c, 0.0))
            for c, fix in zip(wanted, correction, strict=True)
        }

    def predict_proba_one(self, x: dict[Any, Any], **kwargs: Any) -> dict[Any, float]:
        """Class probabilities (softmax of the joint log-likelihoods); empty before any learning."""
        jll = self.joint_log_likelihood(x)
        if not jll:
            return {}
        top = max(jll.values())
        exp = {c: math.exp(v - top) for c, v in jll.items()}
        norm = sum(exp.values())
        return {c: v / norm for c, v in exp.items()}
