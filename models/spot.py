"""Streaming peaks-over-threshold (SPOT, Siffer et al., KDD 2017): an alarm budget on a score.

A quantile of normal scores puts the threshold where the data has been, and a long stream with
a rare, heavy tail either sits on it (one false alarm per 1 / (1 − q) readings, forever) or needs
a quantile so high that a running estimate of it is mostly noise. Extreme-value theory gives a
principled bar instead: over a high *initial* threshold ``t`` (the ``level`` quantile of a
calibration sample) the excesses of almost any distribution follow a generalised Pareto law
(Pickands–Balkema–de Haan), so the value that normal scores exceed with probability ``risk`` is

    z = t + σ / γ · ((risk · n / N_t)^(−γ) − 1)        (t − σ · ln(risk · n / N_t) when γ = 0)

with ``n`` the normal scores seen, ``N_t`` the peaks over ``t`` among them and (σ, γ) the
Pareto fit of the peaks. ``risk`` is the alarm budget: the share of normal readings allowed over
the bar. On a score smoothed in time it is also the share of *time* spent over it, so one risk
serves hourly and 5-minute data.

Online, as the paper's SPOT: after calibration a normal score over ``t`` is a new peak and the
fit is updated. One departure: the paper leaves a score over ``z`` (an alarm) out, and with a
bounded set of peaks that makes the bar sink under its own alarms (the largest peaks are never
kept, the fit's tail thins, ``z`` falls, more is left out: on squared normal deviates at risk
1e-3, 7× the budget spent); the caller here learns an alarm's score *at* the bar, censored, as
the quantile threshold does (1.3–1.8× the budget on the same stream, the rest the method of
moments' bias). The fit is the method of moments (mean and variance of the peaks, O(1) per peak
from running sums), not Grimshaw's maximum likelihood: the likelihood's root search over every
peak at every new peak costs far more than the detector, and scipy's ``genpareto.fit`` more
still, while on a few hundred peaks the two estimates differ less than the tail itself moves.
The peaks kept are the last ``max_peaks``, so the state stays bounded on an endless stream and
the tail follows slow changes; ``n`` and ``N_t`` are counted over the whole life (``t`` is fixed,
so their ratio is stable).

Pure state, plain floats; pickles with the model.

>>> import random
>>> rng = random.Random(1)
>>> spot = Spot(risk=1e-3, level=0.95)
>>> for _ in range(2000):
...     spot.calibrate(rng.expovariate(1.0))
>>> spot.fit()
>>> 5.5 < spot.threshold() < 8.5  # exact: ln(1000) = 6.9
True
>>> for _ in range(20000):
...     spot.learn(rng.expovariate(1.0))
>>> round(spot.threshold(), 1)  # the budget of exp(1) at 1e-3 is ln(1000)
6.9
"""

from __future__ import annotations

import math
from collections import deque

MIN_PEAKS = 10
"""Peaks a fit needs; with fewer, the bar is the highest calibration score (no budget yet)."""


class Spot:
    """Initial threshold, the recent peaks over it with their running sums, and the counts."""

    def __init__(self, *, risk: float, level: float = 0.98, max_peaks: int = 1000) -> None:
        self.risk = risk
        self.level = level
        self.max_peaks = max_peaks
        self.sample: list[float] | None = []
        """Calibration scores until :meth:`fit`; ``None`` after it."""
        self.t = math.inf
        self.n = 0
        self.n_peaks = 0
        self.peaks: deque[float] = deque()
        self.sum = 0.0
        self.sum_sq = 0.0
        self.top = -math.inf
        self.z = math.inf

    @property
    def fitted(self) -> bool:
        """Calibrated: the initial threshold is set and every normal score now counts."""
        return self.sample is None

    def calibrate(self, score: float) -> None:
        """Keep one normal score of the calibration period (before :meth:`fit`)."""
        if self.sample is not None and math.isfinite(score):
            self.sample.append(score)

    def fit(self) -> None:
        """Set ``t`` at the ``level`` quantile of the calibration scores; its peaks seed the fit."""
        sample = sorted(self.sample or [])
        self.sample = None
        if not sample:
            return
        self.t = sample[min(int(self.level * len(sample)), len(sample) - 1)]
        self.n = len(sample)
        self.top = sample[-1]
        for score in sample:
            if score > self.t:
                self._peak(score - self.t)
        self._update()

    def learn(self, score: float) -> None:
        """Count one score (the caller passes an alarm's as the bar); a peak updates the fit."""
        if not self.fitted or not math.isfinite(score):
            self.calibrate(score)
            return
        self.n += 1
        self.top = max(self.top, score)
        if score > self.t:
            self._peak(score - self.t)
            self._update()

    def threshold(self) -> float:
        """The score that normal scores exceed with probability ``risk``; infinite before fit."""
        return self.z

    def _peak(self, excess: float) -> None:
        self.peaks.append(excess)
        self.n_peaks += 1
        self.sum += excess
        self.sum_sq += excess * excess
        if len(self.peaks) > self.max_peaks:
            old = self.peaks.popleft()
            self.sum -= old
            self.sum_sq -= old * old

    def _update(self) -> None:
        """Refit (σ, γ) by the method of moments and recompute the bar ``z``."""
        k = len(self.peaks)
        if k < MIN_PEAKS:
            self.z = max(self.top, self.t)
            return
        mean = self.sum / k
        var = max(self.sum_sq / k - mean * mean, 1e-300)
        ratio = mean * mean / var
        gamma = 0.5 * (1.0 - ratio)
        sigma = 0.5 * mean * (1.0 + ratio)
        r = self.risk * self.n / max(self.n_peaks, 1)
        if r >= 1.0:
            self.z = self.t
        elif abs(gamma) < 1e-9:
            self.z = self.t - sigma * math.log(r)
        else:
            self.z = self.t + sigma / gamma * (r ** (-gamma) - 1.0)
