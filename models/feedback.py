"""Learning from dispositions: a kernel memory of confirmed and false-alarm alert patterns.

An unsupervised detector cannot be told "this was fine". So every anomaly model keeps a small
supervised corrector on the same features its alerts carry: each labelled alert is remembered
with its label, and the probability that a new pattern is a false alarm is the kernel-weighted
share of false alarms near it:

    p_false(x) = Σ_false k(x, f) / (Σ_false k(x, f) + Σ_confirmed k(x, c) + prior)

Why a kernel memory rather than an online logistic regression: it learns from a *single* label
(a department's first 不属实 already counts), its effect stays local to that pattern (a logistic
model would shift its intercept and mute unrelated alerts), and a later confirmation of the same
pattern undoes it. The bandwidth is relative to the pattern's size, because anomaly features are
z-scores whose magnitude varies a lot between incidents. Memory is bounded (oldest forgotten).

>>> mem = FalseAlarmMemory()
>>> mem.p_false({"z:a": 6.0, "z:b": -4.0})
0.0
>>> mem.learn({"z:a": 6.0, "z:b": -4.0}, "false_alarm")
>>> round(mem.p_false({"z:a": 6.2, "z:b": -4.1}), 2), mem.p_false({"z:a": -6.0, "z:b": 8.0}) < 0.01
(0.8, True)
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping

from models.base import CONFIRMED, feedback_label


class FalseAlarmMemory:
    """Bounded memory of labelled patterns; ``p_false`` discounts an anomaly score."""

    def __init__(self, bandwidth: float = 0.5, prior: float = 0.25, capacity: int = 512) -> None:
        self.bandwidth = bandwidth
        self.prior = prior
        self.capacity = capacity
        self._false: deque[dict[str, float]] = deque(maxlen=capacity)
        self._confirmed: deque[dict[str, float]] = deque(maxlen=capacity)

    def __len__(self) -> int:
        return len(self._false) + len(self._confirmed)

    def learn(self, features: Mapping[str, float], label: str) -> None:
        """Remember ``features`` as confirmed or false alarm (disposition results accepted)."""
        pattern = {k: float(v) for k, v in features.items()}
        if feedback_label(label) == CONFIRMED:
            self._confirmed.append(pattern)
        else:
            self._false.append(pattern)

    def _kernel(self, x: Mapping[str, float], f: Mapping[str, float]) -> float:
        keys = x.keys() | f.keys()
        if not keys:
            return 0.0
        dist2 = sum((x.get(k, 0.0) - f.get(k, 0.0)) ** 2 for k in keys)
        size2 = sum(v * v for v in f.values())
        scale = self.bandwidth**2 * (len(keys) + size2)
        return math.exp(-0.5 * dist2 / scale)

    def p_false(self, features: Mapping[str, float]) -> float:
        """Probability that ``features`` is a false alarm; 0 until a false alarm is known."""
        if not self._false:
            return 0.0
        k_false = sum(self._kernel(features, f) for f in self._false)
        k_conf = sum(self._kernel(features, c) for c in self._confirmed)
        return k_false / (k_false + k_conf + self.prior)
