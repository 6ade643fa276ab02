"""A full local disk on the path the real agents take: the sinks' ``add`` raises
:class:`OutboxFull`, and every stage lets it reach the agents' boundary, which undoes the event
and retries it until there is room — nothing dead-lettered, skipped, or sent twice.

Before: the task agent's "one command must never stop the partition" caught it, dead-lettered
the command and kept the task in state, so the task never reached SQL; ``emit`` sent the
messages before the sinks refused, so each retry sent them again; and a source event's re-keyed
copies went out before its warnings were stored, so the entity's partition counted it again.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

import pytest

import streams.retries
from schemas.records import Alert, Task
from schemas.validation.uscc import make_uscc
from sinks.errors import OutboxFull
from streams import task_stage
from streams.rekey import partition_of
from tests.streams.test_redelivery import _inspect
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


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
def full_disk(app: RiskLoopApp, monkeypatch: pytest.MonkeyPatch) -> FullThenRoom:
    sinks = FullThenRoom(full=2)
    app.worker.sinks = sinks
    monkeypatch.setattr(streams.retries.asyncio, "sleep", _no_sleep)
    return sinks


async def test_a_source_event_waits_for_room_and_publishes_once(
    app: RiskLoopApp, sent: Sent, full_disk: FullThenRoom
) -> None:
    ev = inspection()
    await _inspect(app, ev)
    assert full_disk.calls == 3
    alerts = sent.on("alerts")
    assert len(alerts) == 1, "a retry after a full disk must not publish again"
    commands = [k for t, k, _ in sent.messages if t == "riskloop.task-commands"]
    assert commands
    assert len(set(commands)) == len(commands)
    stored = [r.alert_id for r in full_disk.stored if isinstance(r, Alert)]
    assert stored == [alerts[0]["alert_id"]]
    assert sent.on("deadletter") == []
    assert metric(app, "riskloop_storage_stalled", agent="inspections") == 0
    assert metric(app, "riskloop_events_accepted_total", source="inspections") == 1


async def test_a_task_command_waits_for_room_instead_of_being_dead_lettered(
    app: RiskLoopApp, sent: Sent, full_disk: FullThenRoom
) -> None:
    full_disk.full = 0
    commands = await _commands(app, sent)  # a warning's task commands, the disk not yet full
    full_disk.full, full_disk.calls, full_disk.stored = 2, 0, []
    await _run(app, commands)
    assert sent.on("deadletter") == []
    assert metric(app, "riskloop_task_errors_total", stage="open", error="OutboxFull") == 0
    dispatched = _dispatched(sent)
    assert len(dispatched) == len(commands), "one task per command, sent once"
    stored = {r.task_id for r in full_disk.stored if isinstance(r, Task)}
    assert stored == {t["task_id"] for t in dispatched}, "every task reached the sinks"
    assert metric(app, "riskloop_storage_stalled", agent="tasks") == 0


async def test_supervision_lets_a_full_disk_through(
    app: RiskLoopApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One task's failure is skipped, but a full disk is not the task's: the tick retries."""

    def full(*_: Any) -> None:
        raise OutboxFull("cannot append to the sink outbox: database or disk is full")

    # anywhere in one task's supervision (only due tasks reach _supervise_one: streams/due.py)
    monkeypatch.setattr(task_stage, "load_case", full)
    with pytest.raises(OutboxFull):
        await task_stage.supervise(app.worker, {"task-1": object()})
    assert metric(app, "riskloop_task_errors_total", stage="supervise", error="OutboxFull") == 0


async def test_a_retried_event_sends_its_re_keyed_copy_once(
    app: RiskLoopApp, sent: Sent, full_disk: FullThenRoom
) -> None:
    """A complaint's own warning waits for room; its copy for the address's partition must not
    go out on each attempt (the rekeyed agent would count the complaint each time)."""
    n = app.worker.settings.topics.partitions
    address = next(a for a in (f"杭州市西湖区某路{i}号" for i in range(100)) if partition_of(a, n))
    uscc = next(
        u for u in (make_uscc(f"rk-{i}", "330106") for i in range(100)) if partition_of(u, n) == 0
    )  # the test context's partition
    ev = {**_complaint(0, address), "uscc": uscc, "text": "就餐后全家呕吐"}  # red at once, here
    async with app.agents["complaints"].test_context() as agent:
        await agent.put(encode(ev), key=uscc.encode())
    assert full_disk.calls == 3, "the complaint raised no warning of its own: nothing was retried"
    rekeyed = [json.loads(v)["rules"] for t, _, v in sent.messages if t == "riskloop.rekeyed"]
    assert rekeyed == [["complaints.repeat_address"]], "sent once, after the warning was stored"
