"""What waits for a checkpoint is bounded in bytes (``RISKLOOP_MEMORY__DIRTY_BYTES``).

Issue #16: on the 100,000-entity bench clock ticks raised ~1,000 new warnings per tick event,
several tick events per checkpoint, and every one of those warnings stayed decoded until the
checkpoint: the worker's heap grew ~56 MiB in 6 s and kept the arenas. Here the budget is
room for two warnings and five elevators fall silent together: no tick event fires more than
fit, the checkpoint is brought forward before the next event whenever the budget is reached, so
what waits for a checkpoint never passes the budget by more than the one value an event may
always add, and every elevator fires exactly once, its warning written to the changelog once.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import faust.topics  # noqa: F401 (loaded for the `sent` fixture, which patches it)

from bench.memory_curve import checkpoint_writes, worker_app
from streams.checkpoint import MARKER, split_key
from streams.timers import WALL_TICK
from tests.streams.test_skeleton import encode
from tests.streams.test_timers import _elevators, _fall_silent, _offline

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from config.settings import Settings
    from tests.streams.conftest import Sent

QUIET = 5


async def _handled(app: Any, mark: str, put: Callable[[], Awaitable[Any]]) -> None:
    """``put`` one event of input ``mark`` and return once partition 0 has absorbed it: Faust's
    test wrapper returns from ``put`` when the agent takes its next event, and an event that
    waited for a checkpoint brought forward is taken later than that."""
    store = app.worker.store
    before = store.absorbed(mark, 0)
    await put()
    for _ in range(10_000):
        if store.absorbed(mark, 0) > before:
            return
        await asyncio.sleep(0)  # a turn of the loop: the agent's task goes on
    raise AssertionError(f"{mark} not absorbed")


def _warnings_dirty(app: Any) -> int:
    return sum(
        1
        for state in app.worker.store.partitions.values()
        for table, _ in state.dirty
        if table == "warnings"
    )


async def test_a_tick_never_holds_more_changed_warnings_than_the_budget(
    settings: Settings, sent: Sent
) -> None:
    app = worker_app(settings)
    written: list[tuple[int, bytes, bytes | None]] = []
    checkpoint_writes(app, lambda p, k, v: written.append((p, k, v)))
    checkpoint = app.worker.checkpoint
    ticks_topic = app.worker.topics.ticks.get_topic_name()
    ticks_mark = f"{ticks_topic}:0"
    async with (
        app.agents["equipment"].test_context() as equipment,
        app.agents["ticks"].test_context() as ticks,
    ):
        quiet = await _fall_silent(app, equipment, QUIET)
        assert len(_offline(sent)) == 1  # busy's own silence, ended by its late reading
        await checkpoint.commit()  # its warning encoded: the warnings' size is known
        warning = app.worker.store.sizes.of("warnings")
        assert warning != 1024  # learnt, not the default
        checkpoint.dirty_bytes = 2 * warning + warning // 2  # room for two warnings
        sent.messages.clear()
        await ticks.put(WALL_TICK)
        pending = [v for t, _, v in sent.messages if t == ticks_topic]
        assert len(pending) == 1  # the clock tick the wall tick sends back
        fired: list[int] = []
        held: list[int] = []
        weights: list[int] = []
        entities: list[str] = []
        rounds = 0
        while pending and rounds < 10:
            rounds += 1
            sent.messages.clear()
            tick = pending[0]
            await _handled(app, ticks_mark, lambda tick=tick: ticks.put(tick))
            fired.append(len(_offline(sent)))
            held.append(_warnings_dirty(app))
            weights.append(app.worker.store.dirty_weight())
            entities += _offline(sent)
            pending = [v for t, _, v in sent.messages if t == ticks_topic]
        await checkpoint.commit()
    assert 0 < max(fired) <= 2  # never more than fit the budget
    assert sum(fired) == QUIET
    # what waits for a checkpoint after each tick event: within the budget and the one value
    # an event may always add (Checkpoint.room), never the five warnings at once
    assert max(weights) <= checkpoint.dirty_bytes + warning
    assert max(held) < QUIET
    assert checkpoint.early >= 1  # brought forward between the tick events
    assert sorted(entities) == sorted(ev["equipment_code"] for ev in quiet)  # each once
    assert not pending
    assert app.worker.runtime.tick_cursors == {}
    # every quiet elevator's warning reached the changelog, each in one record
    keys = [split_key(k) for _, k, _ in written if k != MARKER.encode() and not k.startswith(b"~")]
    assert sorted(k for t, k in keys if t == "warnings" and k in entities) == sorted(entities)


async def test_without_a_budget_nothing_is_brought_forward(settings: Settings, sent: Sent) -> None:
    app = worker_app(settings)
    checkpoint_writes(app)
    checkpoint = app.worker.checkpoint
    checkpoint.dirty_bytes = 0
    assert checkpoint.room("warnings") is None
    assert not checkpoint.over_budget()
    checkpoint.dirty_bytes = 1  # any changed value reaches it
    mark = f"{app.worker.topics.sources()['equipment'].get_topic_name()}:0"
    async with app.agents["equipment"].test_context() as equipment:
        for i, reading in enumerate(_elevators(app, 3)):
            ev = {**reading, "event_id": f"budget-{i}"}  # not a duplicate of the one before
            key = ev["equipment_code"].encode()
            await _handled(app, mark, lambda e=ev, k=key: equipment.put(encode(e), key=k))
    assert checkpoint.early == 2  # before the second and the third event
    assert checkpoint.room("warnings") == 1  # an event always makes progress
