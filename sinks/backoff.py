"""Exponential backoff with jitter, as a pure schedule so a test can read it back.

Why jitter: after a shared PostgreSQL or Redis restarts, every worker's sink retries at once;
spreading the retries keeps them from hammering it in lock-step. Why a cap: a target that is
away for an hour should be noticed within ``maximum`` seconds of its return.

>>> import random
>>> b = Backoff(initial=0.5, factor=2.0, maximum=4.0, jitter=0.0)
>>> [b.delay(n) for n in range(5)]
[0.5, 1.0, 2.0, 4.0, 4.0]
>>> j = Backoff(initial=1.0, jitter=0.5, rng=random.Random(7))
>>> 0.5 <= j.delay(0) <= 1.0
True
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """Delay before retry ``attempt`` (0-based): ``min(maximum, initial·factorⁿ)``, jittered.

    ``jitter`` is the fraction that may be taken off at random: 0 gives the bare schedule,
    0.5 gives a delay uniformly in [½·d, d]. The delay never exceeds the un-jittered one, so
    the cap holds. ``rng`` is injectable for deterministic tests.
    """

    initial: float = 0.2
    factor: float = 2.0
    maximum: float = 30.0
    jitter: float = 0.5
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.maximum < self.initial or self.factor < 1:
            raise ValueError("backoff needs 0 < initial <= maximum and factor >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter is a fraction in [0, 1]")

    def ceiling(self, attempt: int) -> float:
        """The un-jittered delay of ``attempt``."""
        # Cap the exponent too: factor ** 10_000 would overflow a float.
        return min(self.maximum, self.initial * self.factor ** min(attempt, 64))

    def delay(self, attempt: int) -> float:
        """The jittered delay of ``attempt``, in seconds."""
        top = self.ceiling(attempt)
        return top * (1.0 - self.jitter * self.rng.random())
