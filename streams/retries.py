"""The waits between tries of a step the worker cannot skip: restoring a partition's state,
handling an event through a full disk, opening the sinks' outboxes, a checkpoint whose sink
copies found the disk full (streams/checkpoint.py).

Each of them retries until it succeeds, because going on without it would lose state or
records; the wait doubles up to a cap so that a broker or a disk that is away for long is not
hammered, yet is noticed within ``cap`` seconds of its return. The schedule is
``sinks.backoff.Backoff``'s, without jitter: one worker retries alone (the sinks, which every
worker retries at once after a shared service returns, keep theirs jittered).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from sinks.backoff import Backoff

if TYPE_CHECKING:
    from collections.abc import Callable


class Retries:
    """Waits of ``first`` seconds, doubled after each failure up to ``cap``.

    >>> said = []
    >>> r = Retries(first=0.001, cap=0.003)
    >>> for _ in range(3):
    ...     asyncio.run(r.wait(lambda event, **f: said.append(f["retry_in"]), "x", OSError()))
    >>> said, r.failures
    ([0.001, 0.002, 0.003], 3)
    """

    def __init__(self, first: float, cap: float = 30.0) -> None:
        self.schedule = Backoff(initial=first, maximum=cap, jitter=0.0)
        self.failures = 0

    async def wait(
        self, say: Callable[..., Any], event: str, exc: Exception, **fields: Any
    ) -> None:
        """Log ``event`` with ``fields``, the failure and how long until the next try (``say``
        is the logger's method of the wanted level), then wait that long."""
        delay = self.schedule.delay(self.failures)
        say(event, **fields, error=f"{type(exc).__name__}: {exc}", retry_in=delay)
        await asyncio.sleep(delay)
        self.failures += 1
