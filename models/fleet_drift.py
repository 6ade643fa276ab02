"""The fleet's drift metric: weigh a unit's deviations by how the fleet deviates when normal.

Why: a unit's Mahalanobis score measures each channel's deviation in its own baseline's
standard deviations, learnt over a few hundred readings. A slow channel (a thermocouple) has a
tiny one there, so its ordinary drift over the next hour reads as many deviations — as high over
the threshold as a subtle fault on a fast channel (SKAB rounds 3–5, models/EVALUATION.md). Every
unit of a type drifts the same ways, and each of them shows it after its warm-up. So the group
keeps the running second moment ``Σ`` of the deviation vectors ``z`` its units learnt as normal,
and a unit's score becomes ``zᵀ(Σ + λI)⁻¹z / k``: a deviation the fleet shows in normal
operation weighs little, one it never shows weighs much. No label is used; flagged readings are
never learnt, as for the baseline. ``Σ`` starts at the identity, worth :data:`PRIOR` readings,
so a young fleet scores as the plain sum of squared deviations.

>>> metric = DriftMetric()
>>> for i in range(500):  # the fleet drifts along "slow", hardly along "fast"
...     metric.learn({"slow": 4.0 * ((i % 9) - 4) / 4, "fast": 0.1 * ((i % 5) - 2)})
>>> along_slow = metric.score({"slow": 2.0, "fast": 0.0}, ridge=0.1)
>>> along_fast = metric.score({"slow": 0.0, "fast": 2.0}, ridge=0.1)
>>> round(along_slow, 2), round(along_fast, 1)  # the same deviation, 2 σ
(0.34, 7.1)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Mapping

PRIOR = 100.0
"""Readings the identity is worth in ``Σ`` before the fleet has shown any."""

REFRESH = 64
"""Readings learnt between two inversions of ``Σ + λI`` (it moves slowly once learnt)."""


class DriftMetric:
    """Running second moment of a group's normal deviation vectors, and the score it weighs."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.moment = np.zeros((0, 0))
        self.n = 0.0
        self._inverse: np.ndarray | None = None
        self._ridge: float | None = None
        self._since = 0

    def _index(self, z: Mapping[str, float]) -> None:
        """Give channels not seen before a row and column (zero moment, identity prior)."""
        new = [k for k in z if k not in self.names]
        if not new:
            return
        size = len(self.names) + len(new)
        grown = np.zeros((size, size))
        grown[: len(self.names), : len(self.names)] = self.moment
        self.names.extend(new)
        self.moment = grown
        self._inverse = None

    def _vector(self, z: Mapping[str, float]) -> np.ndarray:
        return np.array([z.get(k, 0.0) for k in self.names])

    def learn(self, z: Mapping[str, float]) -> None:
        """One normal deviation vector of any unit of the group."""
        self._index(z)
        v = self._vector(z)
        self.moment += np.outer(v, v)
        self.n += 1.0
        self._since += 1
        if self._since >= REFRESH:
            self._inverse = None

    def score(self, z: Mapping[str, float], *, ridge: float) -> float:
        """``zᵀ(Σ + λI)⁻¹z / k`` over the ``k`` channels of ``z`` (0 for none)."""
        if not z:
            return 0.0
        self._index(z)
        if self._inverse is None or self._ridge != ridge:
            k = len(self.names)
            sigma = (self.moment + PRIOR * np.eye(k)) / (self.n + PRIOR)
            self._inverse = np.linalg.inv(sigma + ridge * np.eye(k))
            self._ridge = ridge
            self._since = 0
        v = self._vector(z)
        return float(v @ self._inverse @ v) / len(z)
