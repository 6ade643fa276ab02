"""The console's background consumers (the live feed, the map): run until cancelled, retry.

A console starts before the broker may answer and outlives a broker restart, so a consumer
that fails is started again after a pause rather than taking the console down, and a stop
waits for the cancelled task so the console shuts down cleanly. Both feeds read Kafka the same
way; this is that way, once.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

log = structlog.get_logger(__name__)


async def consume_forever(
    consume: Callable[[], Awaitable[None]], *, what: str, pause: float
) -> None:
    """Await ``consume()`` again and again until cancelled; a failure is logged (``what``
    names the feed) and retried after ``pause`` seconds."""
    while True:
        try:
            await consume()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the broker away: retry, the page shows what it has
            log.warning(f"{what} interrupted; retrying in {pause:g} s", error=str(exc)[:300])
            await asyncio.sleep(pause)


async def cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel a background consumer and wait until it has ended."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
