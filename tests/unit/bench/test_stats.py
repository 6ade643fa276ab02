"""Percentiles, ratios and the sustained-rate arithmetic of the benchmark."""

from __future__ import annotations

import math

import pytest

from bench.stats import BenchError, Sample, percentile, ratio, sustained


def test_percentile_matches_linear_interpolation() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([3.0], 95) == 3.0
    assert percentile([5.0, 1.0], 0) == 1.0 and percentile([5.0, 1.0], 100) == 5.0


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
    samples = [Sample(0.0, 0, 0.0), Sample(5.0, 0, 1.0), Sample(6.0, 1000, 2.0),
               Sample(7.0, 2000, 3.0), Sample(9.0, 2000, 3.0)]  # fmt: skip
    d = sustained(samples, 2000)
    assert d.rate == pytest.approx(1000.0)
    assert d.cpu_per_event == pytest.approx(0.001)


def test_sustained_raises_when_the_drain_never_finishes() -> None:
    with pytest.raises(BenchError, match="never reached"):
        sustained([Sample(0.0, 0, 0.0), Sample(1.0, 10, 0.1)], 100)
