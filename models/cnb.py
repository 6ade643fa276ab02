"""Complement naive Bayes with dense counts: a document's score is a handful of vector operations.

River's ``naive_bayes.ComplementNB`` rebuilds every class's complement counts over the whole
vocabulary on each prediction, which is O(classes × vocabulary × words): seconds per complaint
once the vocabulary reaches tens of thousands of words. The complement total of a class is
``Σ_f (total_f + α − count_cf) = T + α·V − total_c``, so it is kept as three running sums.

The counts live in numpy arrays (a word → row dict, a counts matrix [words × classes] and a
totals vector, both grown by doubling), so class c's joint log-likelihood of a document is

    −Σ_f x_f · log(total_f + α − count_cf)  +  (Σ_f x_f) · log(T + α·V − total_c)

for all classes at once: one gather of the document's rows, one ``log``, one dot product. Why:
the same sum as Python arithmetic over each word-class pair was ~350 ``math.log`` calls and
~70 % of a complaint's CPU in the worker (issue #16). A spare row and a spare column of zeros
are always kept, so an unseen word (its term is −x_f · log α) and a class never learnt need no
special case. Learning writes the same floats as before (each count gets one addition; the
class totals and the grand total are summed word by word, in the document's order); scores
differ from a word-by-word sum in the last bits only (numpy's summation order): River's
ComplementNB and a plain reference agree within 1e-9 (tests/unit/models/test_cnb_dense.py).

>>> m = ComplementNB()
>>> m.learn_one({"垃圾": 2.0, "小区": 1.0}, "环境保护")
>>> m.learn_one({"工资": 2.0, "拖欠": 1.0}, "劳动和社会保障")
>>> m.predict_one({"拖欠": 1.0})
'劳动和社会保障'
"""

from __future__ import annotations

import math
import operator
from collections import Counter, defaultdict
from functools import reduce
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np
from river import base
from river.base import tags

if TYPE_CHECKING:
    from collections.abc import Iterable

_ROWS = 256
"""Rows (words) a new model makes room for; doubled whenever the spare row is taken."""
_COLUMNS = 4
"""Columns (classes) a new model makes room for; doubled likewise."""


def _counts() -> defaultdict[Any, float]:
    """Per-class counts of one word in snapshots of older releases (they pickled this factory
    by name): kept so those still load."""
    return defaultdict(float)


def _room(used: int, start: int) -> int:
    """The capacity for ``used`` entries plus the spare one: ``start`` doubled as needed."""
    capacity = start
    while capacity <= used:
        capacity *= 2
    return capacity


class ComplementNB(base.Classifier):
    """Complement naive Bayes over term counts (Rennie et al., 2003), fully online."""

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha
        self.class_counts: Counter[Any] = Counter()
        self.class_totals: dict[Any, float] = {}
        self.total = 0.0
        self._rows: dict[Any, int] = {}
        """Word → its row in ``_counts`` and ``_totals``, in the order first learnt."""
        self._columns: dict[Any, int] = {}
        """Class → its column in ``_counts``, in the order first learnt."""
        self._counts = np.zeros((_ROWS, _COLUMNS))
        self._totals = np.zeros(_ROWS)
        self._learnt = np.zeros(_ROWS, dtype=bool)
        """Rows learning changed since :meth:`track_learnt` (not pickled: a restored model
        counts all its rows as learnt until told otherwise)."""

    @property
    def _multiclass(self) -> bool:
        """Any number of classes (the complaint categories), as River's naive Bayes models say:
        River's ``check_estimator`` holds a classifier that does not say so to binary output."""
        return True

    def _more_tags(self) -> set[str]:
        """Term counts are never negative (River's naive Bayes models carry the same tag)."""
        return {tags.POSITIVE_INPUT}

    # ------------------------------------------------------------------ counts

    @property
    def vocabulary(self) -> list[Any]:
        """The words learnt, in the order first learnt (row order)."""
        return list(self._rows)

    @property
    def feature_counts(self) -> dict[Any, dict[Any, float]]:
        """Per word, its count per class that has seen it (a copy, in the layout of older
        releases: for tests, digests and reading; the model never uses it)."""
        k = len(self._columns)
        classes = list(self._columns)
        return {
            f: {c: v for c, v in zip(classes, row, strict=True) if v}
            for f, row in zip(self._rows, self._counts[: len(self._rows), :k].tolist(), strict=True)
        }

    @property
    def feature_totals(self) -> dict[Any, float]:
        """Per word, its count over all classes (a copy, as :attr:`feature_counts`)."""
        return dict(zip(self._rows, self._totals[: len(self._rows)].tolist(), strict=True))

    def track_learnt(self, rows: Iterable[int] = ()) -> None:
        """From now on, :meth:`learnt_rows` is ``rows`` and the rows learning changes. Why: a
        snapshot against priors (models/complaints.py ``_PriorDelta``) compares only these with
        the priors, not the whole vocabulary."""
        self._learnt[:] = False
        self._learnt[list(rows)] = True

    def learnt_rows(self) -> np.ndarray:
        """The rows learning changed since :meth:`track_learnt` (all, for a restored model)."""
        return np.flatnonzero(self._learnt[: len(self._rows)])

    def _column(self, y: Any) -> int:
        column = self._columns.get(y)
        if column is None:
            column = self._columns[y] = len(self._columns)
            if column + 1 >= self._counts.shape[1]:
                self._resize(self._counts.shape[0], _room(column + 1, self._counts.shape[1]))
        return column

    def _resize(self, rows: int, columns: int) -> None:
        counts = np.zeros((rows, columns))
        n, k = self._counts.shape
        counts[: min(n, rows), : min(k, columns)] = self._counts[:rows, :columns]
        totals = np.zeros(rows)
        totals[: min(n, rows)] = self._totals[:rows]
        learnt = np.zeros(rows, dtype=bool)
        learnt[: min(n, rows)] = self._learnt[:rows]
        self._counts, self._totals, self._learnt = counts, totals, learnt

    def _rows_of(self, x: dict[Any, Any]) -> np.ndarray:
        """The rows of x's words, a new word given the next free row (zeros until learnt)."""
        rows = self._rows
        found = list(map(rows.get, x))  # in C: most words of a document are known
        if None in found:
            for i, f in enumerate(x):
                if found[i] is None:
                    found[i] = rows[f] = len(rows)
            if len(rows) >= self._totals.shape[0]:
                self._resize(_room(len(rows), self._totals.shape[0]), self._counts.shape[1])
        return np.array(found, dtype=np.intp)

    def _add(self, x: dict[Any, Any], y: Any, rows: np.ndarray, frequencies: np.ndarray) -> None:
        """Learn x for y: its frequencies added into its rows (a document's words are unique
        keys, so no row repeats), the class and grand totals summed word by word."""
        column = self._column(y)
        self._counts[rows, column] += frequencies
        self._totals[rows] += frequencies
        self._learnt[rows] = True
        self.class_counts[y] += 1
        self.class_totals[y] = reduce(operator.add, x.values(), self.class_totals.get(y, 0.0))
        self.total = reduce(operator.add, x.values(), self.total)

    def _scores(
        self,
        x: dict[Any, Any],
        classes: Iterable[Any] | None,
        rows: np.ndarray,
        frequencies: np.ndarray,
        vocabulary: int,
    ) -> dict[Any, float]:
        """The joint log-likelihoods of x (rows: its words' rows, zero rows for unseen words;
        ``vocabulary``: V before x is learnt)."""
        wanted = list(self.class_counts if classes is None else classes)
        if not wanted:
            return {}
        columns = self._columns
        spare = len(columns)  # a column of zeros: a class never learnt
        top = self._totals[rows] + self.alpha
        logs = np.log(top[:, None] - self._counts[rows, : spare + 1])
        sums = (frequencies @ logs).tolist()
        mass = reduce(operator.add, x.values(), 0.0)
        base = self.total + self.alpha * vocabulary
        class_totals = self.class_totals
        log = math.log
        return {
            c: mass * log(base - class_totals.get(c, 0.0)) - sums[columns.get(c, spare)]
            for c in wanted
        }

    # ------------------------------------------------------------------ River's API

    def learn_one(self, x: dict[Any, Any], y: Any, **kwargs: Any) -> None:
        """Count one document's words for class ``y``: O(words), whatever the vocabulary size."""
        frequencies = np.fromiter(x.values(), dtype=float, count=len(x))
        self._add(x, y, self._rows_of(x), frequencies)

    def score_then_learn(
        self, x: dict[Any, Any], y: Any, classes: Iterable[Any] | None = None
    ) -> dict[Any, float]:
        """``joint_log_likelihood(x, classes)``, then ``learn_one(x, y)``, the rows of x looked
        up once for both: the same floats and the same state as the two calls."""
        vocabulary = len(self._rows)
        rows = self._rows_of(x)  # new words get zero rows: scored as unseen
        frequencies = np.fromiter(x.values(), dtype=float, count=len(x))
        scores = self._scores(x, classes, rows, frequencies, vocabulary)
        self._add(x, y, rows, frequencies)
        return scores

    def joint_log_likelihood(
        self, x: dict[Any, Any], classes: Iterable[Any] | None = None
    ) -> dict[Any, float]:
        """Per class, −Σ_f x_f · log((T_f + α − n_cf) / (T + αV − T_c)); ``classes``: only these
        (a class never learnt scores as one with no counts)."""
        vocabulary = len(self._rows)
        rows = self._rows
        found = np.array(list(map(rows.get, x, repeat(vocabulary, len(x)))), dtype=np.intp)
        frequencies = np.fromiter(x.values(), dtype=float, count=len(x))
        return self._scores(x, classes, found, frequencies, vocabulary)

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

    # ------------------------------------------------------------------ snapshots

    def __getstate__(self) -> dict[str, Any]:
        """The words and classes as lists and the arrays cut to what is used: a snapshot
        carries no spare capacity, and pickles a list of words, not a dict per word."""
        n, k = len(self._rows), len(self._columns)
        state = dict(self.__dict__)
        state["_rows"] = list(self._rows)
        state["_columns"] = list(self._columns)
        state["_counts"] = np.ascontiguousarray(self._counts[:n, :k])
        state["_totals"] = self._totals[:n].copy()
        del state["_learnt"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a snapshot, converting one of an older release (dicts of dicts, possibly
        defaultdicts: ``feature_counts``, ``feature_totals``) to the dense layout."""
        if "feature_counts" in state:
            state = _dense_state(state)
        words, classes = state["_rows"], state["_columns"]
        counts, totals = state["_counts"], state["_totals"]
        self.__dict__.update(state)
        self.class_counts = Counter(state["class_counts"])
        self.class_totals = dict(state["class_totals"])
        self._rows = {f: i for i, f in enumerate(words)}
        self._columns = {c: j for j, c in enumerate(classes)}
        n, k = len(words), len(classes)
        self._counts = np.zeros((_room(n, _ROWS), _room(k, _COLUMNS)))
        self._counts[:n, :k] = counts
        self._totals = np.zeros(self._counts.shape[0])
        self._totals[:n] = totals
        self._learnt = np.zeros(self._counts.shape[0], dtype=bool)
        self._learnt[:n] = True


def _dense_state(state: dict[str, Any]) -> dict[str, Any]:
    """The state of an older release's model (per word, a dict of counts per class) in the
    dense layout of :meth:`ComplementNB.__getstate__`: rows in the words' order, columns in
    the order classes were first learnt (their counts' order), the same floats."""
    feature_counts: dict[Any, dict[Any, float]] = state["feature_counts"]
    feature_totals: dict[Any, float] = state["feature_totals"]
    classes = dict.fromkeys(state["class_counts"])
    for counts in feature_counts.values():
        classes.update(dict.fromkeys(counts))
    column = {c: j for j, c in enumerate(classes)}
    words = list(feature_counts)
    dense = np.zeros((len(words), len(classes)))
    for i, counts in enumerate(feature_counts.values()):
        for c, v in counts.items():
            dense[i, column[c]] = v
    out = {k: v for k, v in state.items() if k not in ("feature_counts", "feature_totals")}
    out["_rows"] = words
    out["_columns"] = list(classes)
    out["_counts"] = dense
    out["_totals"] = np.array([feature_totals[f] for f in words], dtype=float)
    return out
