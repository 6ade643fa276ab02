"""Pure arithmetic of the benchmark: percentiles, ratios, spreads over repeated runs, the
sustained rate of a drain and the rule that refuses a drain too short to resolve.

Kept free of Kafka and processes so the numbers the report prints can be unit-tested.

>>> percentile([1.0, 2.0, 3.0, 4.0], 50)
2.5
>>> ratio(50.0, 200.0)
0.25
>>> spread([3.0, 1.0, 2.0])
Spread(min=1.0, median=2.0, max=3.0, n=3)
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

from schemas.errors import RiskLoopError

if TYPE_CHECKING:
    from collections.abc import Sequence


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
        """Events per second over the drain."""
        return ratio(self.events, self.seconds)

    @property
    def cpu_per_event(self) -> float:
        """CPU seconds per event over the drain."""
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


@dataclass(frozen=True)
class Spread:
    """Smallest, median and largest of ``n`` repeated measurements: the spread is the point."""

    min: float
    median: float
    max: float
    n: int

    def as_dict(self) -> dict[str, float]:
        """The spread as JSON, for the report."""
        return {"min": self.min, "median": self.median, "max": self.max, "n": self.n}


def spread(values: Sequence[float]) -> Spread:
    """The spread of ``values`` (one value is its own spread)."""
    if not values:
        raise BenchError("spread of no values")
    return Spread(min(values), statistics.median(values), max(values), len(values))


def ratio_spread(numerator: Spread, denominator: Spread) -> Spread:
    """``numerator / denominator`` from the medians, bounded by the extremes the runs allow.

    >>> ratio_spread(Spread(80.0, 100.0, 120.0, 3), Spread(400.0, 500.0, 800.0, 3))
    Spread(min=0.1, median=0.2, max=0.3, n=3)
    """
    return Spread(
        ratio(numerator.min, denominator.max),
        ratio(numerator.median, denominator.median),
        ratio(numerator.max, denominator.min),
        min(numerator.n, denominator.n),
    )


MIN_TAIL_SAMPLES = 100
"""A p99 of fewer samples than this is about the largest sample: reported, marked unresolved."""
MIN_WINDOW_SECONDS = 3.0
"""A measured window shorter than this is not reported: start-up and one slow commit dominate."""
MIN_COMMIT_INTERVALS = 3.0
"""…nor one shorter than this many commit intervals: offsets advance once per commit."""
MIN_STEPS = 10
"""…nor one in which the committed offsets advanced fewer times than this."""


@dataclass(frozen=True)
class Resolution:
    """Whether a drain's measured window can carry a rate, and if not, why and what would.

    The figure is "too short to resolve" when the window (``lo`` → ``hi`` of the events) lasted
    under ``required_seconds`` = max(MIN_WINDOW_SECONDS, MIN_COMMIT_INTERVALS × commit
    interval), or when the committed offsets moved fewer than MIN_STEPS times inside it: a drain
    whose 5 % and 95 % marks fall into one commit step has no rate at all, only an artefact.
    """

    window_seconds: float
    steps: int
    required_seconds: float
    events_needed: int
    """A rough input size that would resolve it (0 when resolved), from the whole drain's rate."""

    @property
    def resolved(self) -> bool:
        """Whether the window was long enough and the commits moved often enough to give a rate."""
        return self.window_seconds >= self.required_seconds and self.steps >= MIN_STEPS

    def reason(self) -> str:
        """One clause for the report; empty when resolved.

        >>> Resolution(0.4, 2, 3.0, 40_000).reason()
        'window 0.40 s < 3.0 s, 2 commit steps < 10; needs ≥ ~40,000 events'
        """
        if self.resolved:
            return ""
        parts = []
        if self.window_seconds < self.required_seconds:
            parts.append(f"window {self.window_seconds:.2f} s < {self.required_seconds:.1f} s")
        if self.steps < MIN_STEPS:
            plural = "" if self.steps == 1 else "s"
            parts.append(f"{self.steps} commit step{plural} < {MIN_STEPS}")
        return ", ".join(parts) + f"; needs ≥ ~{self.events_needed:,} events"


def resolve(
    samples: Sequence[Sample],
    total: int,
    commit_interval: float,
    lo: float = 0.05,
    hi: float = 0.95,
    *,
    first_read: float | None = None,
) -> Resolution:
    """Apply the too-short rule to a drain (see :class:`Resolution`).

    ``steps`` counts the distinct committed totals seen strictly inside the window, plus one:
    the number of offset advances the rate was measured over. ``first_read`` (when the
    processor was first seen to have read an event, same clock as the samples) dates the start
    of the work for the estimate of ``events_needed``; without it, the last sample before the
    first commit does.

    >>> s = [Sample(0.0, 0, 0.0), Sample(0.02, 1000, 0.01)]
    >>> r = resolve(s, 1000, 1.0)
    >>> r.resolved, r.steps, r.events_needed
    (False, 1, 170000)
    >>> resolve(s, 1000, 1.0, first_read=-1.98).events_needed
    10000
    >>> s = [Sample(t / 10, t * 10, 0.0) for t in range(101)]
    >>> resolve(s, 1000, 1.0).resolved
    True
    """
    if total <= 0 or not samples:
        raise BenchError("a drain needs events and samples")
    t0, _ = _crossing(samples, lo * total)
    t1, _ = _crossing(samples, hi * total)
    window = max(t1 - t0, 0.0)
    levels = {s.done for s in samples if lo * total < s.done < hi * total}
    steps = len(levels) + 1
    required = max(MIN_WINDOW_SECONDS, MIN_COMMIT_INTERVALS * commit_interval)
    res = Resolution(window, steps, required, 0)
    if res.resolved:
        return res
    if first_read is None:
        started = next((s.at for s in samples if s.done > 0), samples[-1].at)
        first_read = max((s.at for s in samples if s.at < started), default=started)
    whole = max(samples[-1].at - first_read, window, 1e-3)
    by_time = total / whole * required / (hi - lo)
    by_steps = total * MIN_STEPS / steps  # as many events per commit step as seen, 10 steps
    return Resolution(window, steps, required, _round_up(max(by_time, by_steps)))


def _round_up(n: float) -> int:
    """Up to two significant digits: a hint, not a measurement.

    >>> _round_up(166_667.0), _round_up(4_321.0), _round_up(7.0)
    (170000, 4400, 7)
    """
    if n < 100:
        return math.ceil(n)
    scale = 10 ** (len(str(int(n))) - 2)
    return int(math.ceil(n / scale) * scale)
