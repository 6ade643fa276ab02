"""Notifications in the worker: intents out of the partition, sending off to the side.

Deciding happens where the news is made — the warning stage (a red warning record) and the
task stage's supervision (催办/督办/通报) — by the pure deciders of loop/notify/. Their intents
go to the SQL sink with the records that caused them (same outbox, same checkpoint), so an
event is never committed before its notifications are queued, and a replay queues nothing
twice (the queue's key is (warning or task, receiver, step)).

Sending never touches a partition: :func:`run_sender` is a task of its own that claims due
rows from the queue, groups them (loop/notify/plan.py), sends each group to its receiver
concurrently, and records every attempt (sinks/notify/queue.py). A receiver that is away
costs that receiver backlog (``riskloop_notify_backlog``) and retries with exponential
backoff and jitter; nothing upstream waits for it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from loop.notify.plan import Batch, hold_until, ready
from sinks.backoff import Backoff
from sinks.errors import StoreError
from sinks.notify.base import DeliveryFailed, Sender
from sinks.notify.queue import Claimed, NotificationQueue, Outcome
from sinks.notify.senders import senders
from sinks.sql import SqlStore
from streams.logs import get_logger

if TYPE_CHECKING:
    from streams.runtime import Runtime
    from streams.worker_context import WorkerContext

log = get_logger(__name__)


class NotificationSender:
    """Claim, plan, and start each batch's send as a task of its own.

    A receiver that hangs (until its ``timeout``) holds only its own notifications: the next
    pass goes on for the others. One batch per receiver is in flight at a time, so a
    receiver's messages arrive in order and a slow one is not sent a pile of parallel
    retries; rows being sent are left out of the next passes until their send is recorded."""

    def __init__(self, rt: Runtime, queue: NotificationQueue, by_name: dict[str, Sender]) -> None:
        self.rt = rt
        self.queue = queue
        self.senders = by_name
        s = rt.settings
        self.backoff = Backoff(initial=s.notify_retry_initial, maximum=s.notify_retry_max)
        self.busy: dict[str, asyncio.Task[int]] = {}  # receiver → its send in flight
        self.sending: set[str] = set()  # intent ids in flight

    async def run_once(self) -> int:
        """One pass; how many notifications it started sending."""
        now = self.rt.clock.now()
        claimed = await asyncio.to_thread(self.queue.claim, now)
        pending = [p for p in claimed.pending if p.intent_id not in self.sending]
        batches = [b for b in ready(pending, claimed.last_sent, now) if b.receiver not in self.busy]
        later = hold_until(pending, claimed.last_sent, batches, now)
        for until, ids in later.items():
            await asyncio.to_thread(self.queue.hold, ids, until)
        for batch in batches:
            self.sending.update(batch.intent_ids)
            task = asyncio.create_task(self._send(batch, claimed), name=f"notify-{batch.receiver}")
            self.busy[batch.receiver] = task
            task.add_done_callback(partial(self._done, batch))
        await self._publish_backlog()
        return sum(len(b.intent_ids) for b in batches)

    def _done(self, batch: Batch, task: asyncio.Task[int]) -> None:
        self.busy.pop(batch.receiver, None)
        self.sending.difference_update(batch.intent_ids)
        if not task.cancelled() and task.exception() is not None:  # the store was away
            log.warning(
                "notification outcome not recorded; sent again after the lease",
                receiver=batch.receiver,
                error=str(task.exception())[:300],
            )

    async def drain(self) -> None:
        """Wait for the sends in flight (tests, shutdown)."""
        while self.busy:
            await asyncio.gather(*self.busy.values(), return_exceptions=True)

    async def _send(self, batch: Batch, claimed: Claimed) -> int:
        intents = [claimed.intents[i] for i in batch.intent_ids]
        metrics = self.rt.metrics
        sender = self.senders.get(batch.receiver)
        try:
            if sender is None:
                raise DeliveryFailed(f"receiver {batch.receiver!r} is not in notify_config")
            await sender.send(intents)
            error = None
        except DeliveryFailed as exc:
            error = str(exc)
        except Exception as exc:  # a sender's bug must not end the sender task
            log.exception("notification sender failed", receiver=batch.receiver)
            error = f"{type(exc).__name__}: {exc}"[:300]
        now = self.rt.clock.now()
        if error is None:
            metrics.notify_sent.labels(batch.receiver).inc(len(intents))
            outcome = Outcome(batch.intent_ids, None)
            log.info(
                "notified",
                receiver=batch.receiver,
                notifications=len(intents),
                subjects=sorted({i.subject_id for i in intents}),
            )
        else:
            metrics.notify_failed.labels(batch.receiver).inc(len(intents))
            tries = max(p.attempts for p in claimed.pending if p.intent_id in batch.intent_ids)
            wait = self.backoff.delay(tries) * self.rt.clock.speed  # real s in clock time
            outcome = Outcome(batch.intent_ids, error, now + timedelta(seconds=wait))
            log.warning(
                "notification not delivered; retrying",
                receiver=batch.receiver,
                error=error,
                attempt=tries + 1,
                retry_in=round(wait, 2),
            )
        await asyncio.to_thread(self.queue.record, outcome, now)
        return len(intents) if error is None else 0

    async def _publish_backlog(self) -> None:
        backlog = await asyncio.to_thread(self.queue.backlog)
        for name in set(self.senders) | set(backlog):
            self.rt.metrics.notify_backlog.labels(name).set(backlog.get(name, 0))

    async def close(self) -> None:
        """Stop: cancel the sends in flight (each is retried after its lease, so none is lost) and
        close every sender's connections."""
        for task in list(self.busy.values()):  # a cancelled send is retried after its lease
            task.cancel()
        await asyncio.gather(*self.busy.values(), return_exceptions=True)
        for sender in self.senders.values():
            await sender.close()


async def run_sender(worker: WorkerContext) -> None:
    """The worker's sender task: a pass every ``notify_poll_interval`` s until cancelled.

    A store that is away (or not migrated yet: the SQL sink migrates on its first write) is
    waited out with backoff; it never ends the task."""
    rt = worker.runtime
    if rt.notify is None:
        return
    settings = worker.settings
    store = SqlStore.from_settings(settings)
    sender = NotificationSender(rt, NotificationQueue(store, rt.worker_id), senders(rt.notify))
    pause = Backoff(initial=settings.notify_poll_interval, maximum=30.0)
    failures = 0
    migrated = False
    try:
        while True:
            try:
                if not migrated:  # the SQL sink migrates the store before its first write
                    migrated = await asyncio.to_thread(store.has_table, "notifications")
                if migrated:
                    await sender.run_once()
                failures = 0
            except (StoreError, SQLAlchemyError) as exc:
                if failures % 10 == 0:
                    log.warning("notification queue unavailable", error=str(exc)[:300])
                failures += 1
            await asyncio.sleep(
                pause.delay(failures) if failures else settings.notify_poll_interval
            )
    finally:
        await sender.close()
        store.close()
