"""Online Mahalanobis distance: a River anomaly detector for correlated sensor channels.

Why not only Half-Space Trees: plant sensors move together (a pump's current, flow and pressure
rise and fall as one), and most faults break that joint pattern long before any single channel
leaves its range. A running mean and covariance (Welford, one dict at a time) sees exactly
that, needs no known limits, and on SKAB beats HST by a wide margin (models/EVALUATION.md).
Distances are computed on the correlation matrix with a small ridge, so quantised or nearly
constant channels (SKAB's pressure) cannot make the matrix singular.

Features may come and go: a missing feature is imputed with its mean (contributes nothing) and a
new one gets its own count and joins the distance after ``min_samples`` observations.

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
        self._n = np.zeros(0)
        self._mu = np.zeros(0)
        self._s = np.zeros((0, 0))

    @property
    def n_features(self) -> int:
        """Features tracked so far (at most ``max_features``), young ones included."""
        return len(self._names)

    def _grow(self, name: str, value: float) -> None:
        self._index[name] = len(self._names)
        self._names.append(name)
        self._n = np.append(self._n, 0.0)
        self._mu = np.append(self._mu, value)
        d = len(self._names)
        s = np.zeros((d, d))
        s[: d - 1, : d - 1] = self._s
        self._s = s

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

    def _vector(self, x: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Values in our feature order (missing → mean) and a mask of the observed ones.

        Filled as Python lists and converted once: item by item into numpy arrays (and
        ``np.isfinite`` on each float) cost several µs a feature, on every reading three times.
        """
        v, seen = self._observed(x)
        return np.array(v, dtype=float), np.array(seen, dtype=bool)

    def _observed(self, x: dict[str, Any]) -> tuple[list[float], list[bool]]:
        """:meth:`_vector` as Python lists."""
        v = self._mu.tolist()
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
            self._n = self._n * factor
            self._s = self._s * factor

    def learn_one(self, x: dict[Any, Any]) -> None:
        """Update the running mean and covariance; new names join until ``max_features``."""
        self._admit(x)
        values, observed = self._observed(x)
        v = np.array(values, dtype=float)
        if all(observed):
            # The usual reading: every tracked feature present. The masks below then select
            # every element, so this is the same arithmetic without them (same floats), at a
            # third fewer numpy calls; tests/unit/models/test_mahalanobis_fast.py compares.
            self._n = self._n + 1.0
            delta = v - self._mu
            self._mu = self._mu + delta / self._n
            after = v - self._mu
        else:
            seen = np.array(observed, dtype=bool)
            self._n = self._n + seen
            delta = np.where(seen, v - self._mu, 0.0)
            self._mu = self._mu + np.divide(delta, self._n, out=np.zeros_like(delta), where=seen)
            after = np.where(seen, v - self._mu, 0.0)
        self._s = self._s + np.outer(delta, after)

    def _std(self) -> np.ndarray:
        """Per-feature standard deviation (0 below two observations), plus a floor relative to
        the mean so a constant channel cannot divide by zero.

        Element by element in Python floats, converted once: the same IEEE operations as the
        numpy expression it replaced (divide, max, sqrt, abs, add, multiply: correctly rounded
        either way, NaN kept), without ten numpy calls on a four-element vector each reading.
        """
        sqrt = math.sqrt
        return np.array(
            [
                sqrt(max(s / (n - 1), 0.0) if n > 1 else 0.0) + 1e-6 * (abs(mu) + 1.0)
                for s, n, mu in zip(
                    self._s.diagonal().tolist(), self._n.tolist(), self._mu.tolist(), strict=True
                )
            ],
            dtype=float,
        )

    def z_scores(self, x: dict[str, Any]) -> dict[str, float]:
        """Per-feature standardised deviation from the running mean (0 for missing or young)."""
        if not self._names:
            return {}
        v, _ = self._vector(x)
        return self._z_scores(v, self._std())

    def _z_scores(self, v: np.ndarray, std: np.ndarray) -> dict[str, float]:
        z = ((v - self._mu) / std).tolist()
        n = self._n.tolist()
        least = self.min_samples
        return {name: z[i] if n[i] >= least else 0.0 for i, name in enumerate(self._names)}

    def score_one(self, x: dict[Any, Any]) -> float:
        """Distance of ``x`` over the features past ``min_samples``; 0 until one is."""
        v, _ = self._vector(x)
        return self._score(v, self._std())

    def score_and_z_scores(self, x: dict[Any, Any]) -> tuple[float, dict[str, float]]:
        """``score_one(x)`` and ``z_scores(x)`` at once: the unit anomaly models ask for both
        of every reading, and the values and deviations are worked out once (same floats)."""
        if not self._names:
            return self.score_one(x), {}
        v, _ = self._vector(x)
        std = self._std()
        return self._score(v, std), self._z_scores(v, std)

    def _score(self, v: np.ndarray, std: np.ndarray) -> float:
        active = np.flatnonzero(self._n >= self.min_samples)
        if active.size == 0:
            return 0.0
        whole = active.size == len(self._names)  # the usual case once warm: no gather needed
        sd = std if whole else std[active]
        z = (v - self._mu) / sd if whole else (v[active] - self._mu[active]) / sd
        n = self._n if whole else self._n[active]
        pair = np.maximum(np.minimum.outer(n, n) - 1.0, 1e-9)
        s = self._s if whole else self._s[np.ix_(active, active)]
        corr = s / pair / np.outer(sd, sd)
        # np.clip's dispatch cost more than the rest of the matrix; same bounds, same NaN
        corr = np.minimum(np.maximum(corr, -1.0, out=corr), 1.0, out=corr)
        np.fill_diagonal(corr, 1.0)
        corr += self.ridge * np.eye(active.size)
        return float(z @ np.linalg.solve(corr, z)) / active.size
