"""The worker's non-Kafka outputs: the SQL task store and audit trail, and Redis live views.

Kafka topics are the primary output; these follow them. The checkpoint hands ``add`` the copies
of every event absorbed since the last one (streams/checkpoint.py, step 3); each sink journals
them in its local outbox, one transaction, before ``add`` returns, then writes in batches with
retry, so PostgreSQL or Redis going away costs nothing but backlog (riskloop_sink_backlog) and
loses nothing.

The local disk is the other way to fail. When it is full, ``add`` raises
:class:`~sinks.errors.OutboxFull` unchanged to the checkpoint (never swallowed, never re-wrapped
into something :func:`~sinks.errors.storage_full` would not recognise): the copies were not
stored, so the checkpoint writes no marker, keeps them and pauses intake until there is room.
``start`` waits for room with backoff too. A corrupt outbox is moved aside by the sink itself.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from schemas.records import Alert, Task
from sinks.errors import OutboxError, storage_full
from sinks.redis_views import RedisViews
from sinks.sql import SqlSink
from streams.logs import get_logger
from streams.retries import Retries

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pydantic import BaseModel

    from config.settings import Settings
    from streams.metrics import Metrics

log = get_logger(__name__)


class WorkerSinks:
    """SQL and Redis sinks behind the calls the agents make."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        # NORMAL: an append survives a crash at once, a power cut after the checkpoint's
        # ``sync`` (see drain): one fsync per checkpoint, not one per event
        self.sql = SqlSink.from_settings(settings, metrics, durability="NORMAL")
        self.redis = RedisViews.from_settings(settings, metrics, durability="NORMAL")
        self._metrics = metrics
        self._started = asyncio.Event()

    async def start(self, max_delay: float = 30.0) -> None:
        """Open both outboxes (replaying what they hold). A full disk is waited out with
        backoff (``riskloop_storage_stalled{agent="outputs"}``): the agents wait for this."""
        retries = Retries(first=0.5, cap=max_delay)
        while True:
            try:
                await self.sql.start()
                await self.redis.start()
                break
            except Exception as exc:
                if not storage_full(exc):
                    raise
                self._metrics.storage_stalled.labels("outputs").set(1)
                await retries.wait(
                    log.error, "local storage full; the sinks' outboxes cannot open, retrying", exc
                )
        self._metrics.storage_stalled.labels("outputs").set(0)
        self._started.set()

    async def drain(self, timeout: float) -> bool:  # noqa: ASYNC109 (waits, never cancels)
        """Write what the sinks hold, waiting at most ``timeout`` s; True if they are empty.

        Called before each offset commit (streams/consumer.py): rows reach SQL and Redis before
        the events that produced them are committed, so a worker that dies for good leaves
        nothing in its local outbox that the partitions' next owner would not redo. A target
        that is away only delays the commit by ``timeout``; its rows stay in the outbox.
        A write is never cancelled half-way (see ``Sink.stop``): it finishes in the background.
        """
        for sink in (self.sql, self.redis):  # rows of absorbed events: on disk before offsets
            try:
                sink.sync()
            except (
                OSError,
                OutboxError,
            ) as exc:  # still safe from a crash (in the WAL); a power cut is not
                log.error(
                    "sink outbox sync failed", sink=sink.name, error=f"{type(exc).__name__}: {exc}"
                )
        flushes = [asyncio.ensure_future(sink.flush()) for sink in (self.sql, self.redis)]
        for flush in flushes:  # a failed flush is retried by the sink itself: just note it
            flush.add_done_callback(lambda t: t.cancelled() or t.exception())
        done, _ = await asyncio.wait(flushes, timeout=timeout)
        failed = [task for task in done if task.exception() is not None]  # (retrieves them all)
        complete = len(done) == len(flushes) and not failed
        return complete and not (self.sql.backlog or self.redis.backlog)

    async def stop(self) -> None:
        """Stop both sinks; what they still hold stays in their outboxes for the next start."""
        await self.sql.stop()
        await self.redis.stop()

    async def add(self, records: Sequence[BaseModel]) -> None:
        """Tasks, task events, alerts and supervision events to SQL; tasks and alerts (the
        live views) to Redis, one outbox transaction each, without the versions a later one
        in ``records`` replaces there. Writes are upserts by id, so a record sent twice is
        harmless.

        Agents start with the worker, possibly before the sinks have opened their outboxes:
        the first checkpoint's records wait for them. A full disk raises
        :class:`~sinks.errors.OutboxFull` from here as it is; if the SQL outbox took the
        records and the Redis one did not, the checkpoint's retry gives SQL the same records
        again (upserts by id: harmless)."""
        await self._started.wait()
        # only the versions each target keeps (Sink.latest): a warning changed by thirty
        # events since the last checkpoint is dumped and journalled once, not thirty times
        to_sql = self.sql.latest(records)
        live = self.redis.latest([r for r in records if isinstance(r, Task | Alert)])
        text = {id(r): r.model_dump_json() for r in (*to_sql, *live)}  # once for both outboxes
        await self.sql.add_dumped([(r, text[id(r)]) for r in to_sql])
        if live:
            await self.redis.add_dumped([(r, text[id(r)]) for r in live])
