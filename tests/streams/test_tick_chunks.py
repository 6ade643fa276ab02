"""A clock tick fires at most ``RISKLOOP_MEMORY__TICK_KEYS`` absence keys, then is sent again.

Issue #16: on the 100,000-entity bench one clock tick found thousands of entities silent and
held all their new warnings decoded until the checkpoint after it (the worker's peak). Here the
bound is 2 and five elevators fall silent together: each tick event fires at most two, the
tick comes back while keys are left, and in the end every elevator fired once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import faust.topics  # noqa: F401 (loaded for the `sent` fixture, which patches it)
from faust.types import TP

from bench.memory_curve import worker_app
from config.settings import MemorySettings
from streams.timers import WALL_TICK
from tests.streams.test_timers import _fall_silent, _offline

if TYPE_CHECKING:
    from config.settings import Settings
    from streams.app import RiskLoopApp
    from tests.streams.conftest import Sent

QUIET = 5


def _app(settings: Settings) -> RiskLoopApp:
    return worker_app(settings.model_copy(update={"memory": MemorySettings(tick_keys=2)}))


async def test_a_clock_tick_fires_a_chunk_at_a_time_until_none_is_left(
    settings: Settings, sent: Sent
) -> None:
    app = _app(settings)
    ticks_topic = app.worker.topics.ticks.get_topic_name()
    async with (
        app.agents["equipment"].test_context() as equipment,
        app.agents["ticks"].test_context() as ticks,
    ):
        quiet = await _fall_silent(app, equipment, QUIET)
        fired_before = len(_offline(sent))
        sent.messages.clear()
        await ticks.put(WALL_TICK)
        pending = [v for t, _, v in sent.messages if t == ticks_topic]
        assert len(pending) == 1  # the clock tick the wall tick sends back
        fired: list[int] = []
        entities: list[str] = []
        rounds = 0
        while pending and rounds < 10:
            rounds += 1
            sent.messages.clear()
            await ticks.put(pending[0])
            fired.append(len(_offline(sent)))
            entities += _offline(sent)
            pending = [v for t, _, v in sent.messages if t == ticks_topic]
    assert fired_before == 1  # busy's own silence, ended by its late reading
    assert fired == [2, 2, 1]  # five silent elevators, two a tick, the tick sent back twice
    assert sorted(entities) == sorted(ev["equipment_code"] for ev in quiet)  # each once
    assert not pending
    assert app.worker.runtime.tick_cursors == {}


async def test_a_revoked_partition_leaves_no_tick_round_behind(
    settings: Settings, sent: Sent
) -> None:
    """The next owner starts a moved partition's round over; this worker forgets its place."""
    app = _app(settings)
    async with (
        app.agents["equipment"].test_context() as equipment,
        app.agents["ticks"].test_context() as ticks,
    ):
        await _fall_silent(app, equipment, QUIET)
        await ticks.put(WALL_TICK)
        ticks_topic = app.worker.topics.ticks.get_topic_name()
        (pending,) = [v for t, _, v in sent.messages if t == ticks_topic]
        await ticks.put(pending)  # the first chunk: the round's place is kept
        cursors = app.worker.runtime.tick_cursors
        assert {p for p, _ in cursors} == {0}
        revoked = {TP(topic, 1) for topic in app.worker.topics.inputs()}
        await app.on_partitions_revoked.send(revoked=revoked)
        assert {p for p, _ in cursors} == {0}  # another partition moved: the place stays
        revoked = {TP(topic, 0) for topic in app.worker.topics.inputs()}
        await app.on_partitions_revoked.send(revoked=revoked)
        assert cursors == {}
