"""Pure arithmetic of the benchmark: percentiles, ratios and the sustained rate of a drain.

Kept free of Kafka and processes so the numbers the report prints can be unit-tested.

>>> percentile([1.0, 2.0, 3.0, 4.0], 50)
2.5
>>> ratio(50.0, 200.0)
0.25
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from schemas.errors import RiskLoopError


class BenchError(RiskLoopError):
    """A benchmark could not measure what it was asked to (one line, no traceback)."""


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) with linear interpolation, like numpy's default.

    Latency tails are reported from a few hundred samples, so interpolation matters more
    than a nearest-rank rule that would jump between samples.
    """
    if not values:
        raise BenchError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise BenchError(f"percentile {q} is outside 0..100")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; NaN instead of a crash when the denominator is zero."""
    return numerator / denominator if denominator else math.nan


@dataclass(frozen=True)
class Sample:
    """One observation while a processor drains its input: time, events done, CPU seconds."""

    at: float
    done: int
    cpu: float


@dataclass(frozen=True)
class Drain:
    """Throughput and CPU cost between two progress marks of a drain."""

    events: float
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return ratio(self.events, self.seconds)

    @property
    def cpu_per_event(self) -> float:
        return ratio(self.cpu_seconds, self.events)


def _crossing(samples: Sequence[Sample], level: float) -> tuple[float, float]:
    """(time, cpu) at which ``done`` first reached ``level``, interpolated between samples."""
    prev = samples[0]
    for s in samples:
        if s.done >= level:
            if s.done == prev.done or s is prev:
                return s.at, s.cpu
            f = (level - prev.done) / (s.done - prev.done)
            return prev.at + f * (s.at - prev.at), prev.cpu + f * (s.cpu - prev.cpu)
        prev = s
    raise BenchError(f"the drain never reached {level:.0f} events")


def sustained(samples: Sequence[Sample], total: int, lo: float = 0.05, hi: float = 0.95) -> Drain:
    """The rate between ``lo`` and ``hi`` of ``total`` events done.

    Why not first-to-last: committed offsets advance in steps (every 100 records or every
    second), so the first and last steps carry start-up and commit-interval noise; the middle
    90 % is what the processor sustains.

    >>> s = [Sample(0.0, 0, 0.0), Sample(1.0, 100, 0.5), Sample(2.0, 200, 1.0)]
    >>> d = sustained(s, 200, 0.25, 0.75)
    >>> (d.events, d.seconds, d.cpu_per_event)
    (100.0, 1.0, 0.005)
    """
    if total <= 0 or not samples:
        raise BenchError("a drain needs events and samples")
    t0, c0 = _crossing(samples, lo * total)
    t1, c1 = _crossing(samples, hi * total)
    return Drain(events=(hi - lo) * total, seconds=max(t1 - t0, 1e-9), cpu_seconds=c1 - c0)
