"""Online Mahalanobis distance: a River anomaly detector for correlated sensor channels.

Why not only Half-Space Trees: plant sensors move together (a pump's current, flow and pressure
rise and fall as one), and most faults break that joint pattern long before any single channel
leaves its range. A running mean and covariance (Welford, one dict at a time) sees exactly
that, needs no known limits, and on SKAB beats HST by a wide margin (models/EVALUATION.md).
Distances are computed on the correlation matrix with a small ridge, so quantised or nearly
constant channels (SKAB's pressure) cannot make the matrix singular.

Features may come and go: a missing feature is imputed with its mean (contributes nothing) and a
new one gets its own count and joins the distance after ``min_samples`` observations.

Why Python floats and not numpy arrays (issue #16): a unit has a handful of channels (4 on the
bench), and each numpy call on such tiny arrays costs more in dispatch than in arithmetic; a
reading took ~25 of them. The element-wise arithmetic is the same IEEE operations in the same
order (correctly rounded either way), so the floats are numpy's to the bit; only the linear
solve and the final dot product stay in numpy (LAPACK and BLAS, whose rounding Python cannot
reproduce). A pickle still holds numpy arrays, byte for byte as before, so snapshots and
checkpointed units neither change nor need migrating.

>>> det = OnlineMahalanobis(min_samples=5)
>>> for i in range(50):
...     det.learn_one({"a": i % 5, "b": (i % 5) * 2 + (i % 3) * 0.1})
>>> det.score_one({"a": 2, "b": 4.1}) < 1 < det.score_one({"a": 2, "b": -4})
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from river import base

try:  # private: a numpy upgrade may move it, and then the public solve serves
    from numpy.linalg import _umath_linalg

    _solve1: Any = _umath_linalg.solve1
except (ImportError, AttributeError):  # pragma: no cover - depends on the numpy installed

    def _solve1(a: Any, b: Any, signature: str = "") -> Any:
        return np.linalg.solve(a, b)


"""The LAPACK solve (``gesv``) that ``np.linalg.solve`` calls for a vector right-hand side.

Called directly: ``np.linalg.solve``'s checks, type promotion and ``errstate`` cost ~4 µs, more
than the solve of a 4 × 4 system itself (numpy/numpy#8532: numpy's constant overhead dominates
on small arrays). Same routine, same bits; a NaN result is worked out again by
``np.linalg.solve``, which raises on a singular matrix as before (numpy then also warns
"invalid value" once: never seen with a positive ridge)."""


class OnlineMahalanobis(base.AnomalyDetector):
    """Squared Mahalanobis distance of ``x`` from the running mean, divided by the dimension.

    Parameters
    ----------
    ridge
        Added to the correlation matrix's diagonal; shrinks towards independent channels.
    min_samples
        Observations a feature needs before it counts in the distance.
    max_features
        Features tracked at most; later new names are ignored. Each step costs the cube of the
        dimension (the matrix inverse), and 2,000 metric names in one reading stalled the
        event loop for seconds, so the dimension a sender can add is bounded here.
    """

    def __init__(self, ridge: float = 0.01, min_samples: int = 10, max_features: int = 64) -> None:
        self.ridge = ridge
        self.min_samples = min_samples
        self.max_features = max_features
        self._names: list[str] = []
        self._index: dict[str, int] = {}
        self._n: list[float] = []
        """Observations per feature (decayed by :meth:`forget`)."""
        self._mu: list[float] = []
        """Running mean per feature."""
        self._s: list[list[float]] = []
        """Co-moments, row by row (Welford's sums of products of deviations); not symmetric
        to the bit, since each update adds ``delta_i · after_j``."""

    def __getstate__(self) -> dict[str, Any]:
        """The state as it was pickled when it was held in numpy arrays (same keys, same
        order, same bytes): checkpoints and snapshots stay what they were."""
        state = self.__dict__.copy()
        state["_n"] = np.array(self._n, dtype=float)
        state["_mu"] = np.array(self._mu, dtype=float)
        state["_s"] = np.array(self._s, dtype=float) if self._s else np.zeros((0, 0))
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Back to Python floats, from this pickle or one taken before."""
        self.__dict__.update(state)
        self._n = np.asarray(self._n, dtype=float).tolist()
        self._mu = np.asarray(self._mu, dtype=float).tolist()
        self._s = np.asarray(self._s, dtype=float).tolist()

    @property
    def n_features(self) -> int:
        """Features tracked so far (at most ``max_features``), young ones included."""
        return len(self._names)

    def _grow(self, name: str, value: float) -> None:
        self._index[name] = len(self._names)
        self._names.append(name)
        self._n.append(0.0)
        self._mu.append(value)
        for row in self._s:
            row.append(0.0)
        self._s.append([0.0] * len(self._names))

    def _admit(self, x: dict[Any, Any]) -> None:
        """Track the new names of ``x`` with a finite value, until ``max_features``."""
        for name, value in x.items():
            if (
                name not in self._index
                and len(self._names) < self.max_features
                and value is not None
                and np.isfinite(value)
            ):
                self._grow(name, float(value))

    def _observed(self, x: dict[str, Any]) -> tuple[list[float], list[bool]]:
        """Values in our feature order (missing → mean) and which of them ``x`` holds."""
        v = self._mu.copy()
        seen = [False] * len(v)
        index = self._index
        for name, value in x.items():
            i = index.get(name)
            if i is not None and value is not None and math.isfinite(value):
                v[i] = float(value)
                seen[i] = True
        return v, seen

    def forget(self, factor: float) -> None:
        """Down-weight everything learnt so far by ``factor`` (0 < factor ≤ 1) before a reading.

        Counts, and the sums of squares with them, decay; the means stay. So the baseline is an
        exponentially weighted mean and covariance: a slow drift (the seasons in a boiler
        room's temperature) becomes the new normal instead of an alarm that never ends.
        """
        if factor < 1.0:
            self._n = [n * factor for n in self._n]
            self._s = [[s * factor for s in row] for row in self._s]

    def learn_one(self, x: dict[Any, Any]) -> None:
        """Update the running mean and covariance; new names join until ``max_features``."""
        self._admit(x)
        v, seen = self._observed(x)
        # zip(strict=False) in this and the scoring loops: every list has the dimension's
        # length by construction, and the check cost ~0.4 µs a zip (a third of a reading)
        if all(seen):  # the usual reading: every tracked feature present
            n = [c + 1.0 for c in self._n]
            delta = [a - m for a, m in zip(v, self._mu, strict=False)]
            mu = [m + e / c for m, e, c in zip(self._mu, delta, n, strict=False)]
            after = [a - m for a, m in zip(v, mu, strict=False)]
        else:
            # as numpy's ``n + seen``, ``where(seen, v - mu, 0)`` and ``divide(..., where=seen)``
            # did: an unseen feature adds 0.0 (so a mean of -0.0 becomes 0.0, as it did)
            n = [c + 1.0 if o else c + 0.0 for c, o in zip(self._n, seen, strict=False)]
            delta = [a - m if o else 0.0 for a, m, o in zip(v, self._mu, seen, strict=False)]
            mu = [
                m + (e / c if o else 0.0)
                for m, e, c, o in zip(self._mu, delta, n, seen, strict=False)
            ]
            after = [a - m if o else 0.0 for a, m, o in zip(v, mu, seen, strict=False)]
        self._n, self._mu = n, mu
        for row, e in zip(self._s, delta, strict=False):  # s += outer(delta, after), in place
            for j, f in enumerate(after):
                row[j] += e * f

    def _std(self) -> list[float]:
        """Per-feature standard deviation (0 below two observations), plus a floor relative to
        the mean so a constant channel cannot divide by zero."""
        sqrt = math.sqrt
        return [
            sqrt(max(row[i] / (n - 1), 0.0) if n > 1 else 0.0) + 1e-6 * (abs(mu) + 1.0)
            for i, (row, n, mu) in enumerate(zip(self._s, self._n, self._mu, strict=False))
        ]

    def _deviations(self, x: dict[str, Any]) -> tuple[list[float], list[float]]:
        """Each feature's deviation from its mean in standard deviations (missing → 0), and
        the standard deviations."""
        v, _ = self._observed(x)
        std = self._std()
        return [(a - m) / sd for a, m, sd in zip(v, self._mu, std, strict=False)], std

    def centred(self, x: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
        """Each tracked feature of ``x``: its value minus the running mean, and the feature's
        standard deviation (what a caller needs to follow a drift, models/slow_drift.py)."""
        std = self._std()
        deviations, stds = {}, {}
        for name, i in self._index.items():
            if name in x:
                deviations[name] = x[name] - self._mu[i]
                stds[name] = std[i]
        return deviations, stds

    def z_scores(self, x: dict[str, Any]) -> dict[str, float]:
        """Per-feature standardised deviation from the running mean (0 for missing or young)."""
        if not self._names:
            return {}
        return self._z_scores(self._deviations(x)[0])

    def _z_scores(self, z: list[float]) -> dict[str, float]:
        n = self._n
        least = self.min_samples
        return {name: z[i] if n[i] >= least else 0.0 for i, name in enumerate(self._names)}

    def score_one(self, x: dict[Any, Any]) -> float:
        """Distance of ``x`` over the features past ``min_samples``; 0 until one is."""
        return self._score(*self._deviations(x))

    def score_and_z_scores(self, x: dict[Any, Any]) -> tuple[float, dict[str, float]]:
        """``score_one(x)`` and ``z_scores(x)`` at once: the unit anomaly models ask for both
        of every reading, and the deviations are worked out once (same floats)."""
        if not self._names:
            return 0.0, {}
        z, std = self._deviations(x)
        return self._score(z, std), self._z_scores(z)

    def _score(self, z_all: list[float], sd: list[float]) -> float:
        """``z · corr⁻¹ · z / k`` over the ``k`` features past ``min_samples``.

        The correlation of features ``i`` and ``j`` is their co-moment over
        ``max(min(n_i, n_j) - 1, 1e-9)`` and over ``sd_i · sd_j``, clipped to [-1, 1] (a NaN
        stays NaN, as under ``np.clip``); the diagonal is 1 + ``ridge``, and every other entry
        gets ``ridge · 0.0`` added, as ``corr += ridge · eye`` did (a -0.0 becomes 0.0).
        """
        n = self._n
        least = self.min_samples
        active = [i for i, c in enumerate(n) if c >= least]
        k = len(active)
        if not k:
            return 0.0
        s = self._s
        diagonal = 1.0 + self.ridge * 1.0
        off = self.ridge * 0.0
        rows = []
        for i in active:
            ni, si, sdi = n[i], s[i], sd[i]
            row = []
            for j in active:
                if j == i:
                    row.append(diagonal)
                    continue
                nj = n[j]
                c = si[j] / max((ni if ni < nj else nj) - 1.0, 1e-9) / (sdi * sd[j])
                row.append((-1.0 if c < -1.0 else 1.0 if c > 1.0 else c) + off)
            rows.append(row)
        corr = np.array(rows)
        z = np.array(z_all if k == len(n) else [z_all[i] for i in active])
        score = float(z @ _solve1(corr, z, signature="dd->d"))
        if math.isnan(score):  # a singular matrix (np.linalg.solve raises) or NaN inputs
            score = float(z @ np.linalg.solve(corr, z))
        return score / k
