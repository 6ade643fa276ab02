"""A wall tick reads a task's brief, not the task: the tasks table can go cold (issue #16,
memory with 100,000 distinct entities; streams/task_stage.py ``supervise``).

Before, the tasks stayed decoded because every wall tick loaded every task to count the gauges
and find the due ones: tens of thousands of open tasks held as objects (~4–10 KB each).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from streams.packing import Cold
from streams.rekey import partition_of
from streams.runtime import Clock
from streams.state import Store
from streams.timers import WALL_TICK
from tests.streams.test_redelivery import _capture
from tests.streams.test_skeleton import metric
from tests.streams.test_task_isolation import _at_partition, _commands, _dispatched, _run

if TYPE_CHECKING:
    import pytest

    from streams.app import RiskLoopApp
    from tests.streams.conftest import Sent


async def test_a_tick_counts_cold_tasks_by_their_briefs_and_reads_only_the_due_ones(
    app: RiskLoopApp, sent: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    _capture(app)  # the checkpoint's records kept here instead of produced
    await _run(app, await _commands(app, sent))
    task = _dispatched(sent)[0]
    task_id, department = task["task_id"], task["department"]
    partition = partition_of(task_id, app.worker.settings.topics.partitions)
    store = app.worker.store
    store.hot.budget = 0  # nothing stays decoded past a checkpoint
    await app.worker.checkpoint.commit()
    assert isinstance(store.partitions[partition].tables["tasks"][task_id], Cold)

    reads: list[str] = []
    get = Store.get

    def spy(self: Store, table: str, key: str) -> Any:
        if table == "tasks":
            reads.append(key)
        return get(self, table, key)

    monkeypatch.setattr(Store, "get", spy)

    now = datetime.now(UTC)
    # one context for every tick: its offsets go on rising, as on a real partition (a second
    # context would start at offset 0 again, which the checkpoint skips as absorbed)
    async with app.agents["ticks"].test_context() as ticks:
        _at_partition(ticks, partition)

        async def tick(at: datetime) -> None:
            app.worker.runtime.clock = Clock.starting(at)
            await ticks.put(WALL_TICK)

        await tick(now)  # the first tick reads each task once, to learn its brief
        assert reads.count(task_id) == 1
        assert metric(app, "riskloop_tasks_open", department=department) >= 1
        assert metric(app, "riskloop_tasks_overdue", department=department) == 0
        reads.clear()
        await app.worker.checkpoint.commit()  # the task read for its brief goes cold again
        await tick(now + timedelta(seconds=5))  # nothing changed, nothing due: nothing read
        assert reads == []
        assert isinstance(store.partitions[partition].tables["tasks"][task_id], Cold)
        assert metric(app, "riskloop_tasks_open", department=department) >= 1

        sent.messages.clear()
        await tick(now + timedelta(days=30))  # its 督办 is due: read, judged, stored anew
        assert task_id in reads
        steps = [s for s in sent.on("supervision") if s["task_id"] == task_id]
        assert {s["kind"] for s in steps} >= {"supervision"}, sent.topics()
        assert metric(app, "riskloop_tasks_overdue", department=department) >= 1
        reads.clear()
        await tick(now + timedelta(days=30, seconds=5))  # raised once: not read again
        assert task_id not in reads
