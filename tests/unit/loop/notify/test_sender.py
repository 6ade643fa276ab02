"""The worker's sender (streams/notify.py) on a real SQLite queue, with senders in memory:
a hanging receiver holds only its own notifications, a failure backs off, each is sent once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest

from config.settings import Settings
from sinks.migrate import migrate
from sinks.notify.base import DeliveryFailed, Sender
from sinks.notify.queue import NotificationQueue
from sinks.sql import SqlStore, make_engine
from streams.metrics import Metrics
from streams.notify import NotificationSender
from streams.runtime import Clock
from tests.unit.loop.notify.factories import intent

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from schemas.notification import NotificationIntent


class Memory(Sender):
    """Takes batches; ``gate`` (if set) holds each send until it is opened; ``fail`` refuses."""

    def __init__(self, gate: asyncio.Event | None = None, fail: int = 0) -> None:
        super().__init__(None, {})
        self.got: list[list[str]] = []
        self.gate = gate
        self.fail = fail

    async def send(self, batch: Sequence[NotificationIntent]) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            self.fail -= 1
            raise DeliveryFailed("HTTP 503: down")
        self.got.append([i.intent_id for i in batch])


@pytest.fixture
def queue(tmp_path: Path) -> NotificationQueue:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    migrate(url)
    return NotificationQueue(SqlStore(make_engine(url)), "w1")


def sender(queue: NotificationQueue, by_name: dict[str, Sender]) -> NotificationSender:
    s = Settings(_env_file=None, notify_retry_initial=0.05, notify_retry_max=0.1)  # type: ignore[call-arg]
    rt: Any = SimpleNamespace(settings=s, metrics=Metrics(), clock=Clock())
    return NotificationSender(rt, queue, by_name)


def mine(n: int, receiver: str, now: Any) -> NotificationIntent:
    return intent(n, receiver).model_copy(
        update={"due_at": now, "group_key": receiver, "group_interval": 0}
    )


async def test_a_hanging_receiver_holds_only_its_own_notifications(
    queue: NotificationQueue,
) -> None:
    gate = asyncio.Event()
    slow, fast = Memory(gate), Memory()
    run = sender(queue, {"slow": slow, "fast": fast})
    now = run.rt.clock.now()
    queue.store.write([mine(1, "slow", now), mine(2, "fast", now)])
    assert await run.run_once() == 2
    await asyncio.sleep(0.1)
    assert fast.got == [["ntf-2"]]
    assert slow.got == []
    queue.store.write([mine(3, "slow", run.rt.clock.now())])
    assert await run.run_once() == 0  # slow is busy: nothing more is started for it
    gate.set()
    await run.drain()
    assert await run.run_once() == 1
    await run.drain()
    assert slow.got == [["ntf-1"], ["ntf-3"]]
    assert queue.backlog() == {}
    await run.close()


async def test_a_failing_receiver_is_retried_after_its_backoff_and_sent_once(
    queue: NotificationQueue,
) -> None:
    flaky = Memory(fail=3)
    run = sender(queue, {"flaky": flaky})
    queue.store.write([mine(1, "flaky", run.rt.clock.now())])
    for _ in range(200):
        await run.run_once()
        await run.drain()
        if flaky.got:
            break
        await asyncio.sleep(0.02)
    assert flaky.got == [["ntf-1"]]
    trail = [(a["attempt"], a["outcome"]) for a in queue.attempts("a-1")]
    assert trail == [(1, "failed"), (2, "failed"), (3, "failed"), (4, "sent")]
    metrics = run.rt.metrics.registry
    assert metrics.get_sample_value("riskloop_notify_failed_total", {"receiver": "flaky"}) == 3
    assert metrics.get_sample_value("riskloop_notify_sent_total", {"receiver": "flaky"}) == 1
    await run.run_once()
    assert metrics.get_sample_value("riskloop_notify_backlog", {"receiver": "flaky"}) == 0
    await run.close()


async def test_a_receiver_no_longer_configured_is_a_failure_on_record_not_a_crash(
    queue: NotificationQueue,
) -> None:
    run = sender(queue, {})
    queue.store.write([mine(1, "gone", run.rt.clock.now() - timedelta(seconds=1))])
    await run.run_once()
    await run.drain()
    (attempt,) = queue.attempts("a-1")
    assert attempt["outcome"] == "failed"
    assert "not in notify_config" in attempt["detail"]
    await run.close()
