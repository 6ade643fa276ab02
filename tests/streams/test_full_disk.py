"""A full local disk on the path the real agents take. The sinks' copies of an event are
stored at the checkpoint (streams/checkpoint.py, step 3), so that is where the sinks' ``add``
raises :class:`OutboxFull`: the checkpoint fails before its marker, keeps the copies, and the
gate lets no new event in until a checkpoint finds room — nothing dead-lettered, skipped, sent
twice or lost.

Before the buffer, ``add`` ran per event and the agents' boundary undid and retried the event;
before that, the task agent dead-lettered a command on a full disk (its task never reached
SQL), and a retried source event sent its re-keyed copies again.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from typing import TYPE_CHECKING, Any

import pytest

from schemas.records import Alert, Task
from schemas.validation.pii import address_key
from schemas.validation.uscc import make_uscc
from sinks.errors import OutboxFull
from streams import task_stage
from streams.rekey import partition_of
from tests.streams.test_redelivery import _capture, _inspect
from tests.streams.test_rekey import _complaint
from tests.streams.test_skeleton import encode, inspection, metric
from tests.streams.test_task_isolation import _commands, _dispatched, _run

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pydantic import BaseModel

    from streams.app import RiskLoopApp
    from tests.streams.conftest import Sent


class FullThenRoom:
    """The worker's Outputs with a disk that is full for the first ``full`` calls."""

    def __init__(self, full: int) -> None:
        self.full = full
        self.calls = 0
        self.stored: list[BaseModel] = []

    async def add(self, records: Sequence[BaseModel]) -> None:
        self.calls += 1
        if self.calls <= self.full:
            try:  # as sinks/outbox.py raises it: SQLite's error as the cause
                raise sqlite3.OperationalError("database or disk is full")
            except sqlite3.Error as exc:
                raise OutboxFull(f"cannot append to the sink outbox: {exc}") from exc
        self.stored.extend(records)

    async def drain(self, timeout: float) -> bool:
        return True


@pytest.fixture
def full_disk(app: RiskLoopApp) -> FullThenRoom:
    sinks = FullThenRoom(full=2)
    app.worker.sinks = sinks
    _capture(app)  # no broker: the checkpoint's changelog records are kept in memory
    app.worker.checkpoint.stall_retry = 3600.0  # the tests run each checkpoint themselves
    return sinks


def _markers(log: dict[int, list[tuple[bytes, bytes | None]]]) -> int:
    return sum(key == b"~checkpoint" for records in log.values() for key, _ in records)


async def _checkpoint_until_stored(app: RiskLoopApp, full_disk: FullThenRoom) -> None:
    """Checkpoints while the disk is full fail before their marker and pause intake; the
    first one with room stores the copies and opens the gate."""
    log = _capture(app)
    for _ in range(full_disk.full - full_disk.calls):
        with pytest.raises(OutboxFull):
            await app.worker.checkpoint.commit()
        assert metric(app, "riskloop_storage_stalled", agent="checkpoint") == 1
        assert _markers(log) == 0, "a marker may not claim events whose copies are not stored"
        assert full_disk.stored == []
    await app.worker.checkpoint.commit()
    assert _markers(log) > 0
    assert metric(app, "riskloop_storage_stalled", agent="checkpoint") == 0


async def test_a_source_event_is_published_once_and_stored_when_there_is_room(
    app: RiskLoopApp, sent: Sent, full_disk: FullThenRoom
) -> None:
    ev = inspection()
    await _inspect(app, ev)
    assert full_disk.calls == 0, "no outbox write per event: the checkpoint stores the copies"
    alerts = sent.on("alerts")
    assert len(alerts) == 1
    await _checkpoint_until_stored(app, full_disk)
    assert full_disk.calls == 3
    assert len(sent.on("alerts")) == 1, "a full disk at the checkpoint publishes nothing again"
    commands = [k for t, k, _ in sent.messages if t == "riskloop.task-commands"]
    assert commands
    assert len(set(commands)) == len(commands)
    stored = [r.alert_id for r in full_disk.stored if isinstance(r, Alert)]
    assert stored == [alerts[0]["alert_id"]]
    assert sent.on("deadletter") == []
    assert metric(app, "riskloop_events_accepted_total", source="inspections") == 1


async def test_intake_waits_while_the_copies_cannot_be_stored(
    app: RiskLoopApp, sent: Sent, full_disk: FullThenRoom
) -> None:
    """The buffer does not grow while the disk is full: the next event waits at the gate."""
    first, second = inspection(), inspection()
    second["uscc"] = make_uscc("full-disk-second", "330106")
    second["event_id"] = first["event_id"] + "-2"
    checkpoint = app.worker.checkpoint
    async with app.agents["inspections"].test_context() as agent:
        await agent.put(encode(first), key=first["uscc"].encode())
        with pytest.raises(OutboxFull):
            await checkpoint.commit()
        waiting = asyncio.ensure_future(agent.put(encode(second), key=second["uscc"].encode()))
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert {a["entity"] for a in sent.on("alerts")} == {first["uscc"]}, "not paused"
        assert len(checkpoint.buffer) > 0
        full_disk.full = 0  # room again
        await checkpoint.commit()
        await asyncio.wait_for(waiting, 10)
        for _ in range(500):
            if len(sent.on("alerts")) > 1:
                break
            await asyncio.sleep(0.01)
    assert {a["entity"] for a in sent.on("alerts")} == {first["uscc"], second["uscc"]}
    await app.worker.checkpoint.commit()
    stored = {r.entity for r in full_disk.stored if isinstance(r, Alert)}
    assert stored == {first["uscc"], second["uscc"]}


async def test_a_task_command_is_stored_when_there_is_room_never_dead_lettered(
    app: RiskLoopApp, sent: Sent, full_disk: FullThenRoom
) -> None:
    full_disk.full = 0
    commands = await _commands(app, sent)  # a warning's task commands, the disk not yet full
    await app.worker.checkpoint.commit()
    full_disk.full, full_disk.calls, full_disk.stored = 2, 0, []
    await _run(app, commands)
    await _checkpoint_until_stored(app, full_disk)
    assert sent.on("deadletter") == []
    assert metric(app, "riskloop_task_errors_total", stage="open", error="OutboxFull") == 0
    dispatched = _dispatched(sent)
    assert len(dispatched) == len(commands), "one task per command, sent once"
    stored = {r.task_id for r in full_disk.stored if isinstance(r, Task)}
    assert stored == {t["task_id"] for t in dispatched}, "every task reached the sinks"


async def test_supervision_lets_a_full_disk_through(
    app: RiskLoopApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One task's failure is skipped, but a full disk is not the task's: the tick retries."""

    def full(*_: Any) -> None:
        raise OutboxFull("cannot append to the sink outbox: database or disk is full")

    # anywhere in one task's supervision (only due tasks reach _supervise_one: streams/due.py)
    monkeypatch.setattr(task_stage, "peek_case", full)
    with pytest.raises(OutboxFull):
        await task_stage.supervise(app.worker, {"task-1": object()})
    assert metric(app, "riskloop_task_errors_total", stage="supervise", error="OutboxFull") == 0


async def test_a_complaint_sends_its_re_keyed_copy_once_through_a_full_disk(
    app: RiskLoopApp, sent: Sent, full_disk: FullThenRoom
) -> None:
    """A complaint's own warning is stored only at the third checkpoint; its copy for the
    address's partition went out once, when it was handled (the rekeyed agent would count
    the complaint again for each copy)."""
    n = app.worker.settings.topics.partitions
    address = next(
        a for a in (f"杭州市西湖区某路{i}号" for i in range(100)) if partition_of(address_key(a), n)
    )
    uscc = next(
        u for u in (make_uscc(f"rk-{i}", "330106") for i in range(100)) if partition_of(u, n) == 0
    )  # the test context's partition
    ev = {**_complaint(0, address), "uscc": uscc, "text": "就餐后全家呕吐"}  # red at once, here
    async with app.agents["complaints"].test_context() as agent:
        await agent.put(encode(ev), key=uscc.encode())
    await _checkpoint_until_stored(app, full_disk)
    assert any(isinstance(r, Alert) for r in full_disk.stored), "the complaint raised no warning"
    rekeyed = [json.loads(v)["rules"] for t, _, v in sent.messages if t == "riskloop.rekeyed"]
    assert rekeyed == [["complaints.repeat_address"]], "sent once"
