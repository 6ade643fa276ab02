"""A naive Bayes model's word × class counts as one numpy matrix, beside its dicts.

Why: scoring a complaint reads ~120 words × the classes each was seen with (~450 word-class
pairs for the category model), and one Python iteration per pair was two thirds of the
complaint classifier's CPU (issue #16). Held as a matrix, the counts of a document's words are
one fancy index, and their logarithms one call (:mod:`models.log_table`).

The dicts stay the model's state (what a snapshot pickles, unchanged); the matrix is derived from
them, kept up to date by ``learn_one`` and never pickled. :meth:`CountMatrix.in_step` tells
whether the dicts were changed behind its back (a test or a snapshot of an older release
writing them directly): the model then builds a new one from the dicts.

Layout: column :data:`TOTAL` holds each word's total and column :data:`NONE` stays zeros (no
class: the ``n = 0`` case), so one gather reads a word's total, its counts of the wanted
classes and a zero; row :data:`NONE` stays zeros too, so a word never learnt reads as a total of
0 and no counts, without a mask.

>>> m = CountMatrix.of({"a": {"x": 1.0}, "b": {"y": 2.0}}, {"a": 1.0, "b": 2.0}, total=3.0)
>>> m.learn(["b", "c"], [1.0, 4.0], "x", total=8.0)
>>> rows = m.rows(["a", "b", "c", "d"])
>>> m.counts[rows[:, None], m.columns(["x", "y", "z"])].tolist()  # total, x, y, z, zero
[[1.0, 1.0, 0.0, 0.0, 0.0], [3.0, 1.0, 2.0, 0.0, 0.0], [4.0, 4.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]]
"""

from __future__ import annotations

from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

NONE = 0
"""The row of a word never learnt and the column of no class (zeros, never written)."""
TOTAL = 1
"""The column of each word's total over all classes."""
_FIRST = 2
"""The column of the first class learnt."""


class CountMatrix:
    """``counts[row(word), column(class)]``, each word's total in column :data:`TOTAL`; rows
    and columns in the order words and classes were first learnt; spare capacity is zeros."""

    def __init__(self) -> None:
        self.words: dict[Any, int] = {}
        self.classes: dict[Any, int] = {}
        self.counts: npt.NDArray[np.float64] = np.zeros((64, 8))
        self.total = 0.0
        """The model's ``total`` when the matrix last matched its dicts (see :meth:`in_step`)."""
        self._looked_up: tuple[list[Any], npt.NDArray[np.intp]] = ([], np.zeros(0, np.intp))
        """The words :meth:`rows` last looked up and their rows: score, then learn looks up the
        same document's words twice."""
        self._columns: dict[tuple[Any, ...], npt.NDArray[np.intp]] = {}

    @classmethod
    def of(
        cls,
        feature_counts: Mapping[Any, Mapping[Any, float]],
        feature_totals: Mapping[Any, float],
        *,
        total: float,
    ) -> CountMatrix:
        """The matrix of a model's dicts (the same floats: copied, never summed again)."""
        matrix = cls()
        words, classes = matrix.words, matrix.classes
        for f in feature_counts:
            words[f] = len(words) + 1
        for counts in feature_counts.values():
            for c in counts:
                if c not in classes:
                    classes[c] = len(classes) + _FIRST
        matrix._reserve(len(words), len(classes))
        for row, counts in enumerate(feature_counts.values(), 1):
            for c, n in counts.items():
                matrix.counts[row, classes[c]] = n
        matrix.counts[1 : len(words) + 1, TOTAL] = [feature_totals[f] for f in feature_counts]
        matrix.total = total
        return matrix

    def in_step(self, words: int, total: float) -> bool:
        """Whether the matrix still matches a model with ``words`` words and this ``total``
        (every ``learn_one`` changes one or the other, unless it learnt nothing but zeros)."""
        return len(self.words) == words and self.total == total

    def rows(self, words: Iterable[Any]) -> npt.NDArray[np.intp]:
        """The row of each word (:data:`NONE` for a word never learnt)."""
        keys = list(words)
        rows = np.fromiter(map(self.words.get, keys, repeat(NONE)), np.intp, len(keys))
        self._looked_up = (keys, rows)
        return rows

    def columns(self, classes: Iterable[Any]) -> npt.NDArray[np.intp]:
        """:data:`TOTAL`, the column of each class (:data:`NONE` for a class never learnt),
        then :data:`NONE` (zeros: the ``n = 0`` case)."""
        key = tuple(classes)
        found = self._columns.get(key)
        if found is None:
            get = self.classes.get
            found = np.array([TOTAL, *(get(c, NONE) for c in key), NONE], np.intp)
            self._columns[key] = found
        return found

    def learn(
        self, words: Collection[Any], frequencies: Iterable[float], y: Any, *, total: float
    ) -> None:
        """Add one document's ``frequencies`` of ``words`` (distinct) to class ``y``, as
        ``ComplementNB.learn_one`` adds them to its dicts (one addition per count: the same
        floats); ``total``: the model's total after it."""
        keys, rows = self._looked_up
        if keys != (keys := list(words)):
            rows = self.rows(keys)
        if not rows.all():  # words never learnt (row NONE) get rows, in x's order (the dicts')
            rows = rows.copy()
            index = self.words
            for i in (rows == NONE).nonzero()[0].tolist():
                rows[i] = index.setdefault(keys[i], len(index) + 1)
            self._looked_up = (keys, rows)
        column = self.classes.get(y)
        if column is None:
            column = self.classes[y] = len(self.classes) + _FIRST
            self._columns.clear()
        self._reserve(len(self.words), len(self.classes))
        added = np.fromiter(frequencies, np.float64, len(keys))
        counts = self.counts
        totals, learnt = counts[:, TOTAL], counts[:, column]  # views: one-dimensional indexing
        totals[rows] += added
        learnt[rows] += added
        self.total = total

    def _reserve(self, words: int, classes: int) -> None:
        """Room for this many words and classes besides row :data:`NONE` and columns
        :data:`NONE` and :data:`TOTAL` (capacity doubles: amortised O(1) per word)."""
        rows, columns = self.counts.shape
        if words < rows and classes + _FIRST <= columns:
            return
        while rows <= words:
            rows *= 2
        while columns < classes + _FIRST:
            columns *= 2
        counts = np.zeros((rows, columns))
        counts[: self.counts.shape[0], : self.counts.shape[1]] = self.counts
        self.counts = counts
