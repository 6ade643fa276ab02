"""Percentiles, ratios, spreads, the sustained-rate arithmetic and the too-short rule."""

from __future__ import annotations

import doctest
import math

import pytest

from bench.stats import (
    MIN_STEPS,
    MIN_WINDOW_SECONDS,
    BenchError,
    Sample,
    Spread,
    percentile,
    ratio,
    ratio_spread,
    resolve,
    spread,
    sustained,
)


def test_percentile_matches_linear_interpolation() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([3.0], 95) == 3.0
    assert percentile([5.0, 1.0], 0) == 1.0
    assert percentile([5.0, 1.0], 100) == 5.0


def test_percentile_rejects_no_values_and_bad_q() -> None:
    with pytest.raises(BenchError):
        percentile([], 50)
    with pytest.raises(BenchError):
        percentile([1.0], 101)


def test_ratio_is_nan_on_zero_denominator() -> None:
    assert ratio(1.0, 4.0) == 0.25
    assert math.isnan(ratio(1.0, 0.0))


def test_sustained_uses_the_middle_of_the_drain() -> None:
    # a slow start (startup) and a late last commit must not change the middle rate
    samples = [
        Sample(0.0, 0, 0.0),
        Sample(5.0, 0, 1.0),
        Sample(6.0, 1000, 2.0),
        Sample(7.0, 2000, 3.0),
        Sample(9.0, 2000, 3.0),
    ]
    d = sustained(samples, 2000)
    assert d.rate == pytest.approx(1000.0)
    assert d.cpu_per_event == pytest.approx(0.001)


def test_sustained_raises_when_the_drain_never_finishes() -> None:
    with pytest.raises(BenchError, match="never reached"):
        sustained([Sample(0.0, 0, 0.0), Sample(1.0, 10, 0.1)], 100)


# --- spreads over repeated runs ----------------------------------------------------------------


def test_spread_is_min_median_max_of_the_runs() -> None:
    assert spread([857.0, 641.0, 1115.0]) == Spread(641.0, 857.0, 1115.0, 3)
    assert spread([2.0, 4.0]).median == 3.0
    assert spread([5.0]) == Spread(5.0, 5.0, 5.0, 1)
    with pytest.raises(BenchError):
        spread([])


def test_a_ratio_comes_from_medians_and_is_bounded_by_the_extremes() -> None:
    pipeline, faust = Spread(800.0, 850.0, 1100.0, 3), Spread(4000.0, 5000.0, 5500.0, 3)
    r = ratio_spread(pipeline, faust)
    assert r.median == pytest.approx(0.17)
    assert r.min == pytest.approx(800 / 5500)
    assert r.max == pytest.approx(1100 / 4000)
    assert r.min <= r.median <= r.max


# --- the too-short rule --------------------------------------------------------------------------


def _steady(total: int, seconds: float, every: float = 0.1, step: int = 0) -> list[Sample]:
    """Committed offsets of a processor draining ``total`` events evenly in ``seconds``,
    advancing every ``every`` seconds (or in steps of ``step`` events)."""
    out = [Sample(0.0, 0, 0.0)]
    n = int(seconds / every)
    for i in range(1, n + 1):
        done = total * i // n
        if step:
            done = min(total, done // step * step)
        out.append(Sample(i * every, done, i * every * 0.9))
    if out[-1].done < total:
        out.append(Sample(out[-1].at + every, total, out[-1].cpu))
    return out


def test_a_drain_whose_window_falls_into_one_commit_step_is_too_short() -> None:
    # the `--events 2000` case: the pipeline commits everything at once, 5 % and 95 % are
    # crossed between two samples 20 ms apart, and the "rate" is an artefact of the sampling
    samples = [Sample(0.0, 0, 0.0), Sample(1.5, 0, 1.0), Sample(1.52, 2000, 1.01)]
    assert sustained(samples, 2000).rate > 50_000  # what used to be printed
    r = resolve(samples, 2000, commit_interval=1.0)
    assert not r.resolved
    assert r.steps == 1
    assert r.window_seconds < 0.05
    assert r.reason().startswith("window 0.02 s < 3.0 s, 1 commit step < 10")
    assert r.events_needed >= 2000 * MIN_STEPS


def test_a_long_steady_drain_resolves() -> None:
    r = resolve(_steady(10_000, 10.0), 10_000, commit_interval=1.0)
    assert r.resolved
    assert r.reason() == ""
    assert r.events_needed == 0
    assert r.window_seconds == pytest.approx(9.0, abs=0.2)


def test_the_window_must_last_seconds_and_commit_intervals() -> None:
    samples = _steady(10_000, 4.0)  # window ≈ 3.6 s, many steps
    assert resolve(samples, 10_000, commit_interval=1.0).resolved
    slow_commits = resolve(samples, 10_000, commit_interval=2.0)  # needs 3 × 2 s
    assert not slow_commits.resolved
    assert slow_commits.required_seconds == 6.0
    assert "window 3." in slow_commits.reason()
    assert "< 6.0 s" in slow_commits.reason()
    assert slow_commits.events_needed >= 10_000 * 6.0 / 4.0


def test_a_long_window_with_few_commit_steps_is_too_short() -> None:
    samples = _steady(1_000, 10.0, step=250)  # offsets move in 4 big steps
    r = resolve(samples, 1_000, commit_interval=1.0)
    assert r.window_seconds >= MIN_WINDOW_SECONDS
    assert r.steps < MIN_STEPS
    assert not r.resolved
    assert "commit steps < 10" in r.reason()


def test_events_needed_is_a_rounded_hint_from_the_first_read() -> None:
    samples = [Sample(10.0, 0, 0.0), Sample(10.02, 500, 0.0)]
    # read from t=9.0: 500 events in ~1 s → 3 s needs ~1,700; 1 step needs 10× the events
    r = resolve(samples, 500, 1.0, first_read=9.0)
    assert r.events_needed == 5_000
    assert "needs ≥ ~5,000 events" in r.reason()


def test_stats_doctests() -> None:
    import bench.stats

    assert doctest.testmod(bench.stats).failed == 0
