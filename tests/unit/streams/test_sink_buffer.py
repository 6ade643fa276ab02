"""The sink copies between checkpoints (streams/sink_buffer.py, streams/checkpoint.py step 3):
kept with their event, buffered when it is absorbed, stored once per checkpoint before the
marker, kept through a full disk, dropped with a partition that was given away."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest

from sinks.errors import OutboxFull
from streams.checkpoint import MARKER, Checkpoint
from streams.sink_buffer import SinkBuffer
from streams.state import Store, current_scope


class Disk:
    """The sinks' outboxes and the changelog, as one ordered log of what reached them."""

    def __init__(self) -> None:
        self.log: list[tuple[str, Any]] = []
        self.sent: list[tuple[str, Any]] = []  # queued by the producer, not yet acknowledged
        self.full = False
        self.broker_down = False

    async def store(self, records: list[Any]) -> None:
        if self.full:
            try:  # as sinks/outbox.py raises it: SQLite's error as the cause
                raise sqlite3.OperationalError("database or disk is full")
            except sqlite3.Error as exc:
                raise OutboxFull(f"cannot append to the sink outbox: {exc}") from exc
        self.log.append(("sinks", list(records)))

    async def send(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None
    ) -> None:
        self.sent.append(("marker" if key == MARKER.encode() else "state", partition))

    async def flush(self) -> None:
        """As the worker's producer: what was sent reached the changelog, or none of it did
        and the flush raises."""
        sent, self.sent = self.sent, []
        if sent and self.broker_down:
            raise ConnectionError("broker away")
        self.log += sent

    def markers(self) -> int:
        return sum(kind == "marker" for kind, _ in self.log)

    def stored(self) -> list[Any]:
        return [r for kind, records in self.log if kind == "sinks" for r in records]


@pytest.fixture
def disk() -> Disk:
    return Disk()


@pytest.fixture
def stalls() -> list[bool]:
    return []


@pytest.fixture
def checkpoint(disk: Disk, stalls: list[bool]) -> Checkpoint:
    cp = Checkpoint(
        store=Store(),
        topic="app-state-changelog",
        send=disk.send,
        flush=disk.flush,
        sinks=disk.store,
        on_stall=stalls.append,
        stall_retry=3600.0,  # the tests run each checkpoint themselves, but the last one
    )
    cp.start_empty(2)
    return cp


async def _event(cp: Checkpoint, partition: int, offset: int, *copies: str) -> None:
    """One event that writes a key and makes ``copies`` (what ``effects.run`` keeps)."""
    async with cp.event(f"in:{partition}", partition, offset) as fresh:
        assert fresh
        cp.store.put("t", f"k{partition}", offset)
        scope = current_scope()
        assert scope is not None
        scope.sinks.extend(copies)


def test_the_buffer_keeps_absorption_order_and_puts_back_in_front() -> None:
    buffer: SinkBuffer[str] = SinkBuffer()
    buffer.absorb(1, ["a", "b"])
    buffer.absorb(0, ["c"])
    taken = buffer.take()
    assert taken == [(1, "a"), (1, "b"), (0, "c")]
    assert len(buffer) == 0
    buffer.absorb(0, ["d"])
    buffer.restore(taken, held={0, 1})
    assert [r for _, r in buffer.held] == ["a", "b", "c", "d"]
    buffer.restore([(2, "x")], held={0, 1})  # partition 2 was given away meanwhile
    buffer.drop(1)
    assert buffer.held == [(0, "c"), (0, "d")]


async def test_copies_are_stored_once_per_checkpoint_before_its_marker(
    checkpoint: Checkpoint, disk: Disk
) -> None:
    await _event(checkpoint, 0, 0, "a0")
    await _event(checkpoint, 1, 0, "b0", "b1")
    await _event(checkpoint, 0, 1, "a1")
    assert disk.log == [], "nothing reaches an outbox per event"
    await checkpoint.commit()
    kinds = [kind for kind, _ in disk.log]
    assert kinds[0] == "sinks"
    assert kinds.count("sinks") == 1, "one handoff for the whole interval"
    assert disk.stored() == ["a0", "b0", "b1", "a1"], "in the order the events were absorbed"
    assert disk.markers() == 2
    await checkpoint.commit()
    assert disk.stored() == ["a0", "b0", "b1", "a1"], "stored once"


async def test_an_event_that_raised_leaves_no_copy(checkpoint: Checkpoint, disk: Disk) -> None:
    async def failing() -> None:
        async with checkpoint.event("in:0", 0, 0):
            scope = current_scope()
            assert scope is not None
            scope.sinks.append("half-way")
            raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError):
        await failing()
    async with checkpoint.event("in:0", 0, 1):  # undone, then dead-lettered: absorbed
        scope = current_scope()
        assert scope is not None
        scope.sinks.append("undone")
        checkpoint.undo()
    assert len(checkpoint.buffer) == 0
    await _event(checkpoint, 0, 2, "kept")
    await checkpoint.commit()
    assert disk.stored() == ["kept"]


async def test_a_full_disk_fails_the_checkpoint_keeps_the_copies_and_pauses_intake(
    checkpoint: Checkpoint, disk: Disk, stalls: list[bool]
) -> None:
    await _event(checkpoint, 0, 0, "a0")
    disk.full = True
    with pytest.raises(OutboxFull):
        await checkpoint.commit()
    assert disk.markers() == 0, "no marker may claim an event whose copies are not stored"
    assert stalls == [True]
    assert [r for _, r in checkpoint.buffer.held] == ["a0"]
    assert checkpoint.store.partitions[0].dirty == {("t", "k0")}, "the state is written later"

    waiting = asyncio.ensure_future(_event(checkpoint, 0, 1, "a1"))
    await asyncio.sleep(0.01)
    assert not waiting.done(), "no new event while the copies wait for room"
    with pytest.raises(OutboxFull):  # still full: still paused, reported once
        await checkpoint.commit()
    assert stalls == [True]

    disk.full = False
    await checkpoint.commit()
    assert stalls == [True, False]
    assert disk.stored() == ["a0"]
    assert disk.markers() == 1
    await asyncio.wait_for(waiting, 1)
    await checkpoint.commit()
    assert disk.stored() == ["a0", "a1"]


async def test_a_stalled_checkpoint_retries_itself_until_there_is_room(
    checkpoint: Checkpoint, disk: Disk, stalls: list[bool]
) -> None:
    """Paused, no event is acked and Faust would not commit again: the checkpoint must."""
    checkpoint.stall_retry = 0.01
    await _event(checkpoint, 0, 0, "a0")
    disk.full = True
    with pytest.raises(OutboxFull):
        await checkpoint.commit()
    await asyncio.sleep(0.1)  # a few retries on the full disk
    assert stalls == [True]
    disk.full = False
    for _ in range(200):
        if stalls == [True, False]:
            break
        await asyncio.sleep(0.01)
    assert stalls == [True, False]
    assert disk.stored() == ["a0"]
    assert disk.markers() == 1


async def test_a_partition_given_away_takes_its_copies_and_releases_the_gate(
    checkpoint: Checkpoint, disk: Disk, stalls: list[bool]
) -> None:
    await _event(checkpoint, 0, 0, "a0")
    await _event(checkpoint, 1, 0, "b0")
    disk.full = True
    with pytest.raises(OutboxFull):
        await checkpoint.commit()
    checkpoint.drop(0)
    assert [r for _, r in checkpoint.buffer.held] == ["b0"]
    assert stalls == [True], "partition 1's copies still wait for room"
    checkpoint.drop(1)
    assert stalls == [True, False], "nothing left to wait for: the gate opens"
    disk.full = False
    await checkpoint.commit()
    assert disk.stored() == [], "nothing written for partitions given away"


async def test_copies_stored_before_a_failed_changelog_are_not_stored_again(
    checkpoint: Checkpoint, disk: Disk
) -> None:
    await _event(checkpoint, 0, 0, "a0")
    disk.broker_down = True
    with pytest.raises(ConnectionError):
        await checkpoint.commit()
    assert disk.stored() == ["a0"]
    assert len(checkpoint.buffer) == 0
    disk.broker_down = False
    await checkpoint.commit()
    assert disk.stored() == ["a0"]
    assert disk.markers() == 1


async def test_a_failed_producer_flush_keeps_the_copies(checkpoint: Checkpoint, disk: Disk) -> None:
    async def broken() -> None:
        raise ConnectionError("producer flush failed")

    await _event(checkpoint, 0, 0, "a0")
    checkpoint.flush = broken
    with pytest.raises(ConnectionError):
        await checkpoint.commit()
    assert disk.stored() == []
    assert checkpoint.store.partitions[0].dirty == {("t", "k0")}
    checkpoint.flush = disk.flush
    await checkpoint.commit()
    assert disk.stored() == ["a0"]
    assert disk.markers() == 1
