"""The sink base: batching by size and time, retries with backoff, never dropping, replay order.

The target is a fake that can be switched off, and that wakes the test when it receives or
refuses a batch — tests await those events, they never sleep.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

from schemas.records import Alert, Task, TaskState
from sinks.backoff import Backoff
from sinks.base import Sink
from sinks.errors import SinkClosed, SinkWriteFailed, UnsupportedRecord
from streams.metrics import Metrics
from tests.unit.sinks.factories import make_alert, make_task

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from pydantic import BaseModel

FAST = Backoff(initial=0.001, maximum=0.005, jitter=0.0)


class FakeTarget:
    """Keeps every batch it accepted; ``up=False`` refuses; ``commit_then_fail`` keeps the
    batch but reports failure (a crash between the target's commit and the outbox ack)."""

    def __init__(self) -> None:
        self.up = True
        self.commit_then_fail = False
        self.batches: list[list[str]] = []
        self.refusals = 0
        self.changed = asyncio.Condition()

    @property
    def written(self) -> list[str]:
        return [rid for batch in self.batches for rid in batch]

    async def write(self, batch: Sequence[BaseModel]) -> None:
        async with self.changed:
            self.changed.notify_all()
            if not self.up:
                self.refusals += 1
                raise ConnectionError("target is down")
            self.batches.append([getattr(r, "task_id", "") for r in batch])
            if self.commit_then_fail:
                self.commit_then_fail = False
                raise ConnectionError("lost the reply after commit")

    async def wait(self, predicate: Any, timeout: float = 5.0) -> None:
        async def until() -> None:
            async with self.changed:
                await self.changed.wait_for(predicate)

        await asyncio.wait_for(until(), timeout)


class FakeSink(Sink):
    record_types = (Task,)

    def __init__(self, target: FakeTarget, path: Path, **options: Any) -> None:
        options.setdefault("name", "fake")
        options.setdefault("backoff", FAST)
        super().__init__(outbox_path=path, **options)
        self.target = target

    async def _write(self, batch: Sequence[BaseModel]) -> None:
        await self.target.write(batch)


def tasks(start: int, stop: int) -> list[Task]:
    return [make_task(n) for n in range(start, stop)]


def ids(start: int, stop: int) -> list[str]:
    return [f"task-{n}" for n in range(start, stop)]


@pytest.fixture
def target() -> FakeTarget:
    return FakeTarget()


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox" / "fake.sqlite3"


async def test_a_full_batch_is_written_without_waiting_for_the_timer(
    target: FakeTarget, outbox: Path
) -> None:
    async with FakeSink(target, outbox, batch_size=3, max_delay=60) as sink:
        await sink.add_many(tasks(0, 7))
        await target.wait(lambda: len(target.written) >= 7)
        # A due flush drains everything held, in batches of at most batch_size.
        assert target.batches == [ids(0, 3), ids(3, 6), ids(6, 7)]
        assert sink.backlog == 0


async def test_a_partial_batch_is_written_after_max_delay(target: FakeTarget, outbox: Path) -> None:
    async with FakeSink(target, outbox, batch_size=100, max_delay=0.02) as sink:
        await sink.add(make_task(1))
        await target.wait(lambda: target.written == ["task-1"])
        assert sink.backlog == 0


async def test_a_failed_flush_keeps_its_batch(target: FakeTarget, outbox: Path) -> None:
    metrics = Metrics()
    sink = FakeSink(target, outbox, batch_size=2, max_delay=60, metrics=metrics)
    await sink.start()
    target.up = False
    await sink.add_many(tasks(0, 5))
    with pytest.raises(SinkWriteFailed, match="kept and retried"):
        await sink.flush()
    assert sink.backlog == 5
    assert metrics.registry.get_sample_value("riskloop_sink_backlog", {"sink": "fake"}) == 5
    target.up = True
    await sink.flush()
    await sink.stop()
    assert target.written == ids(0, 5)
    assert metrics.registry.get_sample_value("riskloop_sink_backlog", {"sink": "fake"}) == 0


async def test_the_flusher_retries_with_backoff_and_counts_retries(
    target: FakeTarget, outbox: Path
) -> None:
    metrics = Metrics()
    target.up = False
    async with FakeSink(target, outbox, batch_size=1, max_delay=60, metrics=metrics) as sink:
        await sink.add(make_task(0))
        await target.wait(lambda: target.refusals >= 3)
        target.up = True
        await target.wait(lambda: target.written == ["task-0"])
    retries = metrics.registry.get_sample_value("riskloop_sink_retries_total", {"sink": "fake"})
    assert retries is not None
    assert retries >= 3


async def test_outbox_replays_in_order_after_a_restart_while_the_target_was_down(
    target: FakeTarget, outbox: Path
) -> None:
    target.up = False
    first = FakeSink(target, outbox, batch_size=4, max_delay=60)
    await first.start()
    await first.add_many(tasks(0, 10))
    await first.stop()  # the worker goes away; its last flush fails; nothing written
    assert target.written == []

    target.up = True
    second = FakeSink(target, outbox, batch_size=4, max_delay=60)
    await second.start()  # replays at once, before anything newer
    await second.add_many(tasks(10, 12))
    await target.wait(lambda: len(target.written) >= 12)
    await second.stop()
    assert target.written == ids(0, 12)


async def test_memory_is_bounded_and_spilled_records_come_back_in_order(
    target: FakeTarget, outbox: Path
) -> None:
    target.up = False
    sink = FakeSink(target, outbox, batch_size=2, memory_limit=4, max_delay=60)
    await sink.start()
    for n in range(25):
        await sink.add(make_task(n))
    assert sink.backlog == 25
    assert len(sink._queue) <= 4
    target.up = True
    assert await sink.flush() == 25
    await sink.stop()
    assert target.written == ids(0, 25)
    assert all(len(batch) <= 2 for batch in target.batches)


async def test_a_write_committed_but_not_acknowledged_is_written_again(
    target: FakeTarget, outbox: Path
) -> None:
    """At-least-once: the target may see a batch twice, which its upserts make harmless."""
    sink = FakeSink(target, outbox, batch_size=2, max_delay=60)
    await sink.start()
    await sink.add_many(tasks(0, 3))
    target.commit_then_fail = True
    with pytest.raises(SinkWriteFailed):
        await sink.flush()
    await sink.flush()
    await sink.stop()
    assert target.written == [*ids(0, 2), *ids(0, 3)]
    assert set(target.written) == set(ids(0, 3))


async def test_stop_while_the_target_is_down_returns_and_keeps_everything(
    target: FakeTarget, outbox: Path
) -> None:
    target.up = False
    sink = FakeSink(
        target,
        outbox,
        batch_size=1,
        max_delay=0.01,
        backoff=Backoff(initial=30, maximum=30, jitter=0),
    )
    await sink.start()
    await sink.add(make_task(0))
    await target.wait(lambda: target.refusals >= 1)
    await asyncio.wait_for(sink.stop(), 5)  # does not sit out the 30 s backoff
    again = FakeSink(target, outbox)
    await again.start()
    assert again.backlog == 1
    target.up = True
    await again.stop()
    assert target.written == ["task-0"]


async def test_refuses_foreign_records_and_use_before_start(
    target: FakeTarget, outbox: Path
) -> None:
    sink = FakeSink(target, outbox)
    with pytest.raises(SinkClosed):
        await sink.add(make_task(0))
    await sink.start()
    alert: Alert = make_alert(0)
    with pytest.raises(UnsupportedRecord, match="Alert"):
        await sink.add(alert)
    assert sink.backlog == 0
    await sink.stop()


async def test_records_round_trip_through_the_outbox_unchanged(
    target: FakeTarget, outbox: Path
) -> None:
    received: list[BaseModel] = []

    class Keeping(FakeSink):
        async def _write(self, batch: Sequence[BaseModel]) -> None:
            await super()._write(batch)
            received.extend(batch)

    original = make_task(7, state=TaskState.signed, checklist=["a", "b"])
    target.up = False
    first = Keeping(target, outbox)
    await first.start()
    await first.add(original)
    await first.stop()
    target.up = True
    second = Keeping(target, outbox)
    await second.start()
    await second.stop()
    assert received == [original]


class AddingTarget(FakeTarget):
    """While it writes a batch, the agents add more to the sink (as they do during a
    checkpoint): the flush in progress must not chase them."""

    def __init__(self) -> None:
        super().__init__()
        self.sink: Sink | None = None
        self.next = 100

    async def write(self, batch: Sequence[BaseModel]) -> None:
        await super().write(batch)
        if self.sink is not None and self.next < 130:
            await self.sink.add_many(tasks(self.next, self.next + 3))
            self.next += 3


async def test_a_flush_writes_what_was_held_when_called_not_what_arrives_meanwhile(
    outbox: Path,
) -> None:
    """The commit stall of issue #16: a checkpoint's drain ran as long as agents kept adding."""
    target = AddingTarget()
    sink = FakeSink(target, outbox, batch_size=2, max_delay=60)
    await sink.start()
    target.sink = sink
    await sink.add_many(tasks(0, 5))
    assert await sink.flush() == 5
    assert target.written == ids(0, 5)  # not the 9 added while its three batches were written
    assert sink.backlog == 9
    target.sink = None
    assert await sink.flush() == 9  # the next flush takes them, in order
    await sink.stop()
    assert target.written == [*ids(0, 5), *ids(100, 109)]


async def test_a_restarted_sink_flushes_what_its_outbox_held(
    target: FakeTarget, outbox: Path
) -> None:
    target.up = False
    first = FakeSink(target, outbox, batch_size=4, memory_limit=4, max_delay=60)
    await first.start()
    await first.add_many(tasks(0, 9))
    await first.stop()
    target.up = True
    second = FakeSink(target, outbox, batch_size=4, memory_limit=4, max_delay=60)
    await second.start()
    assert await second.flush() == 9  # spilled rows too: the bound is the outbox's last seq
    await second.stop()
    assert target.written == ids(0, 9)


class PreparedSink(FakeSink):
    """Records when its target was prepared, and refuses to prepare while the target is down."""

    def __init__(self, target: FakeTarget, path: Path, **options: Any) -> None:
        super().__init__(target, path, **options)
        self.prepared = asyncio.Event()

    async def _prepare_target(self) -> None:
        if not self.target.up:
            raise ConnectionError("target is down")
        self.prepared.set()


async def test_the_target_is_prepared_at_start_before_any_record(
    target: FakeTarget, outbox: Path
) -> None:
    """The first checkpoint must not wait for the schema migration or the first connection."""
    async with PreparedSink(target, outbox, max_delay=60) as sink:
        await asyncio.wait_for(sink.prepared.wait(), 5)
        assert target.written == []
        assert sink.backlog == 0


async def test_a_target_away_at_start_is_no_error_and_writes_later(
    target: FakeTarget, outbox: Path
) -> None:
    metrics = Metrics()
    target.up = False
    async with PreparedSink(target, outbox, batch_size=1, max_delay=60, metrics=metrics) as sink:
        await sink.add(make_task(0))
        await target.wait(lambda: target.refusals >= 1)
        assert not sink.prepared.is_set()
        target.up = True
        await target.wait(lambda: target.written == ["task-0"])
