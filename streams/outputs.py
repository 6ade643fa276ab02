"""The worker's non-Kafka outputs: the SQL task store and audit trail, and Redis live views.

Kafka topics are the primary output; these follow them. Each sink journals a record in its
local outbox before ``add`` returns, then writes in batches with retry, so PostgreSQL or Redis
going away costs nothing but backlog (riskloop_sink_backlog) and loses nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pydantic import BaseModel

from config.settings import Settings
from schemas.records import Alert, Task
from sinks.redis_views import RedisViews
from sinks.sql import SqlSink
from streams.metrics import Metrics


class Outputs:
    """SQL and Redis sinks behind the calls the agents make."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.sql = SqlSink.from_settings(settings, metrics)
        self.redis = RedisViews.from_settings(settings, metrics)
        self._started = asyncio.Event()

    async def start(self) -> None:
        await self.sql.start()
        await self.redis.start()
        self._started.set()

    async def drain(self, timeout: float) -> bool:
        """Write what the sinks hold, waiting at most ``timeout`` s; True if they are empty.

        Called before each offset commit (streams/consumer.py): rows reach SQL and Redis before
        the events that produced them are committed, so a worker that dies for good leaves
        nothing in its local outbox that the partitions' next owner would not redo. A target
        that is away only delays the commit by ``timeout``; its rows stay in the outbox.
        A write is never cancelled half-way (see ``Sink.stop``): it finishes in the background.
        """
        flushes = [asyncio.ensure_future(sink.flush()) for sink in (self.sql, self.redis)]
        for flush in flushes:  # a failed flush is retried by the sink itself: just note it
            flush.add_done_callback(lambda t: t.cancelled() or t.exception())
        done, _ = await asyncio.wait(flushes, timeout=timeout)
        failed = [task for task in done if task.exception() is not None]  # (retrieves them all)
        complete = len(done) == len(flushes) and not failed
        return complete and not (self.sql.backlog or self.redis.backlog)

    async def stop(self) -> None:
        await self.sql.stop()
        await self.redis.stop()

    async def add(self, records: Sequence[BaseModel]) -> None:
        """Tasks, task events, alerts and supervision events to SQL; tasks and alerts (the
        live views) to Redis. Writes are upserts by id, so a record sent twice is harmless.

        Agents start with the worker, possibly before the sinks have opened their outboxes:
        the first records wait for them rather than crash the agent."""
        await self._started.wait()
        await self.sql.add_many(list(records))
        live = [r for r in records if isinstance(r, Task | Alert)]
        if live:
            await self.redis.add_many(live)
