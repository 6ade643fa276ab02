"""The retry schedule: exponential, capped, jittered downwards only, deterministic by seed."""

from __future__ import annotations

import random

import pytest

from sinks.backoff import Backoff


def test_bare_schedule_doubles_then_caps() -> None:
    b = Backoff(initial=0.1, factor=2.0, maximum=1.0, jitter=0.0)
    assert [b.delay(n) for n in range(6)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


def test_jitter_stays_between_half_and_full_ceiling() -> None:
    b = Backoff(initial=1.0, factor=3.0, maximum=20.0, jitter=0.5, rng=random.Random(1))
    for attempt in range(10):
        top = b.ceiling(attempt)
        for _ in range(50):
            assert top * 0.5 <= b.delay(attempt) <= top


def test_same_seed_same_delays() -> None:
    a = Backoff(rng=random.Random(42))
    b = Backoff(rng=random.Random(42))
    assert [a.delay(n) for n in range(8)] == [b.delay(n) for n in range(8)]


def test_huge_attempt_does_not_overflow() -> None:
    assert Backoff(maximum=30.0, jitter=0.0).delay(100_000) == 30.0


@pytest.mark.parametrize(
    "kwargs",
    [{"initial": 0}, {"initial": 2.0, "maximum": 1.0}, {"factor": 0.5}, {"jitter": 1.5}],
)
def test_nonsense_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="backoff needs|jitter is a fraction"):
        Backoff(**kwargs)  # type: ignore[arg-type]
