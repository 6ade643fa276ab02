"""A unit's time-of-day profile: what each channel usually reads at this hour, learnt online.

A boiler room's or a server room's temperature follows the day (heating, people, the sun), and
a detector that compares a reading with one all-day mean sees every afternoon as an excursion
and every slow change of season as a fault. Subtracting the value this hour of the day usually
has leaves what the day does not explain: a failure shows, the daily cycle and a drift slower
than the profile's memory do not.

The period (a day by default) is cut into ``bins`` equal slots; each slot of each channel keeps
an exponentially weighted mean. The weight is in time, not readings, so one setting serves
5-minute and hourly data: a slot's mean moves by ``1 − exp(−Δt / memory)`` where Δt is the
time since that slot last learnt (a day for hourly data; for 5-minute data the first reading
of the hour takes that step and the other eleven add about as much again), and by at least
``1 / n`` for its first ``n`` readings (a plain mean while it is young). A slot that has never
learnt gives no residual for that channel: the channel is left out of the reading (the
detector imputes a missing channel with its mean), which the warm-up covers.

Pure state, no I/O; plain floats in dicts and lists, so it pickles compactly with the model.

>>> p = Profile(bins=24)
>>> for day in range(10):
...     for hour in range(24):
...         t = day * 86400.0 + hour * 3600.0
...         p.learn({"temp": 20.0 + (5.0 if 12 <= hour < 18 else 0.0)}, t, memory=7 * 86400.0)
>>> p.residuals({"temp": 25.0}, 10 * 86400.0 + 14 * 3600.0)  # 14:00, a warm afternoon
{'temp': 0.0}
>>> p.residuals({"temp": 25.0}, 10 * 86400.0 + 3 * 3600.0)  # 03:00, the same is 5 too warm
{'temp': 5.0}
"""

from __future__ import annotations

import math


class Profile:
    """Per channel, per slot of the period: an EWMA of the value, its count and last update."""

    def __init__(self, bins: int = 24, period: float = 86400.0) -> None:
        self.bins = bins
        self.period = period
        self.mean: dict[str, list[float]] = {}
        self.count: dict[str, list[float]] = {}
        self.updated: dict[str, list[float]] = {}

    def slot(self, now: float) -> int:
        """Which slot of the period ``now`` (POSIX seconds, UTC) falls in."""
        return int((now % self.period) / self.period * self.bins) % self.bins

    def residuals(self, raw: dict[str, float], now: float) -> dict[str, float]:
        """Each value minus its slot's usual value; a channel whose slot is unknown is left out."""
        i = self.slot(now)
        return {
            name: value - self.mean[name][i]
            for name, value in raw.items()
            if name in self.count and self.count[name][i] > 0
        }

    def learn(self, raw: dict[str, float], now: float, *, memory: float) -> None:
        """Move each channel's slot mean towards ``raw`` (a reading judged normal)."""
        i = self.slot(now)
        for name, value in raw.items():
            if not math.isfinite(value):
                continue
            if name not in self.mean:
                self.mean[name] = [0.0] * self.bins
                self.count[name] = [0.0] * self.bins
                self.updated[name] = [now] * self.bins
            n = self.count[name][i] + 1.0
            gap = max(now - self.updated[name][i], 0.0)
            weight = max(1.0 / n, 1.0 - math.exp(-gap / memory))
            self.mean[name][i] += weight * (value - self.mean[name][i])
            self.count[name][i] = n
            self.updated[name][i] = now
