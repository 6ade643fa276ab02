"""A wall tick that re-judges every warning leaves the ones it does not change cold.

Issue #16: when the silences or the loop config change, a wall tick decides on every warning of
the partition (streams/timers.py ``_quiet_warnings``). It used to load each one decoded and keep
it so until the next checkpoint, though most come out unchanged: on the 100,000-entity broker
bench the worker's RSS rose ~150 MiB in 4 s while one such tick read them back (2026-12-05). Here every warning
is made cold (a hot budget of 0), the config is swapped for an equal copy (so every due time is
computed again and every warning is judged), and the partitions are ticked: nothing may be sent
and every warning must still be bytes. A quiet-falling warning, which the tick does change,
is the second test: the tick must still store it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import faust.topics  # noqa: F401 (loaded for the `sent` fixture, which patches it)

from bench.memory_curve import worker_app
from config.settings import MemorySettings
from loop.silences import Silence
from schemas.validation.uscc import make_uscc
from streams.packing import Cold
from streams.timers import WALL_TICK
from tests.streams.test_idle_timers import _at_partition
from tests.streams.test_redelivery import _capture
from tests.streams.test_skeleton import encode, inspection

if TYPE_CHECKING:
    import pytest

    from config.settings import Settings
    from streams.app import RiskLoopApp
    from tests.streams.conftest import Sent

ENTITIES = 12


def _cold_app(settings: Settings) -> RiskLoopApp:
    app = worker_app(settings.model_copy(update={"memory": MemorySettings(hot_bytes=0)}))
    _capture(app)  # the checkpoint's writes kept, not produced
    return app


async def _warn(app: RiskLoopApp, at: datetime) -> None:
    async with app.agents["inspections"].test_context() as agent:
        for i in range(ENTITIES):
            ev = inspection(
                uscc=make_uscc(f"cold-{i}", "330106"),
                event_id=f"cold-{i}",
                event_time=at.isoformat(),
            )
            await agent.put(encode(ev), key=ev["uscc"].encode())
    await app.worker.checkpoint.commit()  # encoded, then beyond the budget of 0: cold


def _warnings(app: RiskLoopApp) -> dict[str, object]:
    return {
        key: value
        for state in app.worker.store.partitions.values()
        for key, value in state.tables.get("warnings", {}).items()
    }


async def _tick_all(app: RiskLoopApp) -> None:
    where = [0]
    async with app.agents["ticks"].test_context() as ticks:
        _at_partition(ticks, where)
        for p in range(app.worker.settings.topics.partitions):
            where[0] = p
            await ticks.put(WALL_TICK)


async def test_a_tick_judging_every_warning_leaves_unchanged_ones_cold(
    settings: Settings, sent: Sent
) -> None:
    app = _cold_app(settings)
    await _warn(app, datetime.now(UTC) - timedelta(minutes=5))
    before = _warnings(app)
    assert len(before) == ENTITIES
    assert all(isinstance(v, Cold) for v in before.values())
    rt = app.worker.runtime
    rt.loop = rt.loop.model_copy()  # another config object: every warning is judged again
    sent.messages.clear()

    await _tick_all(app)

    assert not [t for t, _, _ in sent.messages if t == "alerts"]
    after = _warnings(app)
    assert after.keys() == before.keys()
    decoded = [k for k, v in after.items() if not isinstance(v, Cold)]
    assert decoded == [], f"{len(decoded)} of {ENTITIES} warnings kept decoded by the tick"


async def test_a_tick_still_stores_the_warnings_it_changes(
    settings: Settings, sent: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A silence starting over every warning: the tick changes each one, and each is stored."""
    app = _cold_app(settings)
    await _warn(app, datetime.now(UTC) - timedelta(minutes=5))
    now = datetime.now(UTC)
    silence = Silence(
        silence_id="maintenance",
        source="inspections",
        reason="test",
        creator="tester",
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
    )
    monkeypatch.setattr(type(app.worker.runtime), "silences", property(lambda _: [silence]))
    sent.messages.clear()

    await _tick_all(app)

    silenced = {a["entity"] for a in sent.on("alerts")}
    assert len(silenced) == ENTITIES
    after = _warnings(app)
    assert not [k for k, v in after.items() if isinstance(v, Cold)]
    dirty = {k for s in app.worker.store.partitions.values() for t, k in s.dirty if t == "warnings"}
    assert dirty == set(after)
    assert all(w.silenced_by == "maintenance" for v in after.values() for w in v.warnings.values())
