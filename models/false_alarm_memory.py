"""Learning from dispositions: a kernel memory of confirmed and false-alarm alert patterns.

An unsupervised detector cannot be told "this was fine". So every anomaly model keeps a small
supervised corrector on the same features its alerts carry: each labelled alert is remembered
with its label, and the probability that a new pattern is a false alarm is the kernel-weighted
share of false alarms near it:

    p_false(x) = Σ_false k(x, f) / (Σ_false k(x, f) + Σ_confirmed k(x, c) + prior)

Why a kernel memory rather than an online logistic regression: it learns from a *single* label
(a department's first 不属实 already counts), its effect stays local to that pattern (a logistic
model would shift its intercept and mute unrelated alerts), and a later confirmation of the same
pattern undoes it. "Same pattern" means the same *direction* of deviation (cosine of the z-score
vectors; ``bandwidth`` sets how close) at a similar *size* (within about ``size_tolerance``
times): an incident's z-scores grow while the smoothed signal ramps up, so a distance kernel
would forget the pattern as it grows. Memory is bounded (oldest forgotten).

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
from typing import TYPE_CHECKING

from schemas.labels import Label, confirmed

if TYPE_CHECKING:
    from collections.abc import Mapping


class FalseAlarmMemory:
    """Bounded memory of labelled patterns; ``p_false`` discounts an anomaly score."""

    def __init__(
        self,
        bandwidth: float = 0.1,
        size_tolerance: float = 3.0,
        prior: float = 0.25,
        capacity: int = 512,
    ) -> None:
        self.bandwidth = bandwidth
        self.size_tolerance = size_tolerance
        self.prior = prior
        self.capacity = capacity
        self._false: deque[dict[str, float]] = deque(maxlen=capacity)
        self._confirmed: deque[dict[str, float]] = deque(maxlen=capacity)

    def __len__(self) -> int:
        return len(self._false) + len(self._confirmed)

    def learn(self, features: Mapping[str, float], label: Label) -> None:
        """Remember ``features`` as confirmed or false alarm (disposition results accepted;
        not found teaches nothing)."""
        verdict = confirmed(label)
        if verdict is None:
            return
        pattern = {k: float(v) for k, v in features.items()}
        (self._confirmed if verdict else self._false).append(pattern)

    def _kernel(self, x: Mapping[str, float], f: Mapping[str, float]) -> float:
        """Same direction (cosine) and similar size (log ratio) of deviation → near 1."""
        keys = x.keys() | f.keys()
        nx = math.sqrt(sum(v * v for v in x.values()))
        nf = math.sqrt(sum(v * v for v in f.values()))
        if not keys or nx == 0 or nf == 0:
            return 0.0
        cos = sum(x.get(k, 0.0) * f.get(k, 0.0) for k in keys) / (nx * nf)
        size = math.log(nx / nf) / math.log(self.size_tolerance)
        return math.exp(-(1.0 - cos) / self.bandwidth - 0.5 * size * size)

    def p_false(self, features: Mapping[str, float]) -> float:
        """Probability that ``features`` is a false alarm; 0 until a false alarm is known."""
        if not self._false:
            return 0.0
        k_false = sum(self._kernel(features, f) for f in self._false)
        k_conf = sum(self._kernel(features, c) for c in self._confirmed)
        return k_false / (k_false + k_conf + self.prior)
