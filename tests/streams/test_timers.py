"""Absence rules on the stream's own clock, driven through the equipment and tick agents.

The wall clock is hours past these readings, as in any replay of a backlog: a silence must be
judged against the partition's event time, and a silence the next reading ends must fire
whether or not a tick came in between.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from schemas.internal import read_tick
from schemas.sample_stream import generate
from streams.rekey import partition_of
from streams.state import Store
from streams.timers import WALL_TICK
from tests.streams.test_redelivery import _capture, _restarted
from tests.streams.test_skeleton import encode

if TYPE_CHECKING:
    import pytest

    from config.settings import Settings
    from streams.app import RiskLoopApp
    from tests.streams.conftest import Sent

OFFLINE = "equipment.elevator_offline"


def _elevators(app: RiskLoopApp, n: int) -> list[dict[str, Any]]:
    """Quiet elevator readings whose codes all live on partition 0 (where ticks are put)."""
    parts = app.worker.settings.topics.partitions
    reading = next(e.event for e in generate(100, seed=3) if e.source == "equipment")
    prefix = reading["equipment_code"][:-4]
    codes = (f"{prefix}{i:04d}" for i in range(10_000))
    return [
        {**reading, "equipment_code": code, "trapped": False, "door_faults": 0}
        for code in (c for c in codes if partition_of(c, parts) == 0)
    ][:n]


def _reading(ev: dict[str, Any], start: datetime, minutes: int, n: int) -> dict[str, Any]:
    """``ev`` as its ``n``-th reading, ``minutes`` after ``start``."""
    when = (start + timedelta(minutes=minutes)).isoformat()
    return {**ev, "event_id": f"{ev['equipment_code']}-{n}", "event_time": when}


async def _fall_silent(app: RiskLoopApp, equipment: Any, n: int) -> list[dict[str, Any]]:
    """``n`` elevators read once, three hours ago, and one more reads again 40 minutes later:
    the partition's event clock moves on and the ``n`` fall silent together (returned). The
    one that read again fires its own silence, ended by its late reading."""
    *quiet, busy = _elevators(app, n + 1)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)

    for ev in [*quiet, busy]:
        await equipment.put(encode(_reading(ev, start, 0, 1)), key=ev["equipment_code"].encode())
    await equipment.put(encode(_reading(busy, start, 40, 2)), key=busy["equipment_code"].encode())
    return quiet


def _offline(sent: Sent) -> list[str]:
    return sorted(
        a["entity"] for a in sent.on("alerts") if any(r["id"] == OFFLINE for r in a["reasons"])
    )


async def test_silences_fire_on_event_time_once_each(app: RiskLoopApp, sent: Sent) -> None:
    quiet, busy = _elevators(app, 2)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)

    # one context per agent for the whole test: offsets go on rising, as on a real partition
    async with (
        app.agents["equipment"].test_context() as equipment,
        app.agents["ticks"].test_context() as ticks,
    ):

        async def read(ev: dict[str, Any]) -> None:
            await equipment.put(encode(ev), key=ev["equipment_code"].encode())

        async def tick() -> None:
            """The leader's wall tick; the clock tick it sends back comes round too."""
            await ticks.put(WALL_TICK)
            name = app.worker.topics.ticks.get_topic_name()
            sent_back = [v for t, _, v in sent.messages if t == name]
            if sent_back:
                await ticks.put(sent_back[-1])

        await read(_reading(quiet, start, 0, 1))
        await read(_reading(busy, start, 0, 1))
        await tick()
        assert _offline(sent) == []  # the wall clock is 3 h on; the stream's clock is not

        await read(_reading(busy, start, 40, 2))  # ends busy's 40-minute silence: it fires now
        assert _offline(sent) == [busy["equipment_code"]]
        await tick()  # the partition's clock is at +40 min: quiet is 40 min silent
        assert _offline(sent) == sorted([busy["equipment_code"], quiet["equipment_code"]])

        await read(_reading(quiet, start, 45, 2))  # quiet's silence was already raised by the tick
        await tick()
        assert len(_offline(sent)) == 2


async def test_a_clock_tick_reads_only_the_windows_that_are_due(
    app: RiskLoopApp, sent: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 100,000 entities a clock tick that read every window decoded every cold one and
    took the worker's whole core (streams/due.py): a tick reads a window only when its silence
    may have run out, and once fired, not again until a reading re-arms it."""
    elevators = _elevators(app, 12)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    read_windows: list[str] = []
    get = Store.get

    def spy(self: Store, table: str, key: str) -> Any:
        if table == "rule_state":
            read_windows.append(key)
        return get(self, table, key)

    async with (
        app.agents["equipment"].test_context() as equipment,
        app.agents["ticks"].test_context() as ticks,
    ):

        async def read(ev: dict[str, Any], minutes: int) -> None:
            when = (start + timedelta(minutes=minutes)).isoformat()
            ev = {**ev, "event_id": f"{ev['equipment_code']}-{minutes}", "event_time": when}
            await equipment.put(encode(ev), key=ev["equipment_code"].encode())

        async def tick() -> None:
            await ticks.put(WALL_TICK)
            name = app.worker.topics.ticks.get_topic_name()
            await ticks.put([v for t, _, v in sent.messages if t == name][-1])

        for ev in elevators:
            await read(ev, 0)
        monkeypatch.setattr(Store, "get", spy)
        await tick()  # the clock at 0: each window read once, to learn when it is due
        assert len(read_windows) == len(set(read_windows)) == len(elevators)
        assert _offline(sent) == []
        read_windows.clear()
        await tick()  # nothing changed, nothing due: nothing read
        assert read_windows == []
        await read(elevators[0], 40)  # the clock at +40: elevators[0]'s silence fires on it
        await tick()  # … and the other 11 by the tick
        assert len(_offline(sent)) == len(elevators)
        read_windows.clear()
        await tick()  # the 11 fired windows changed: each read once more, to learn "never"
        assert sorted(read_windows) == sorted(set(read_windows))
        read_windows.clear()
        await tick()  # fired, and nothing re-armed: nothing due, nothing read
        assert read_windows == []
        await read(elevators[1], 41)  # re-armed: its window alone is read again, due at +71
        read_windows.clear()
        await tick()
        assert read_windows == [f"{OFFLINE}|{elevators[1]['equipment_code']}"]
        read_windows.clear()
        await tick()
        assert read_windows == []


async def test_a_redelivered_clock_tick_raises_its_silence_again(
    app: RiskLoopApp, sent: Sent, settings: Settings
) -> None:
    """Killed after the clock tick fired a silence but before its checkpoint: the readings'
    checkpoint is read back, the ticks come again, and raise the same silence again."""
    log = _capture(app)
    (elevator,) = _elevators(app, 1)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    readings = [
        {**elevator, "event_id": f"r-{m}", "event_time": (start + timedelta(minutes=m)).isoformat()}
        for m in (0, 1)
    ]
    quiet = {
        **readings[1],
        "equipment_code": _elevators(app, 2)[1]["equipment_code"],
        "event_id": "other",
        "event_time": (start + timedelta(minutes=45)).isoformat(),
    }
    name = app.worker.topics.ticks.get_topic_name()
    async with (
        app.agents["equipment"].test_context() as equipment,
        app.agents["ticks"].test_context() as ticks,
    ):
        for ev in [*readings, quiet]:
            await equipment.put(encode(ev), key=ev["equipment_code"].encode())
        await app.worker.checkpoint.commit()
        await ticks.put(WALL_TICK)
        (clock_tick,) = [v for t, _, v in sent.messages if t == name]
        await ticks.put(clock_tick)
    first = [a for a in sent.on("alerts") if any(r["id"] == OFFLINE for r in a["reasons"])]
    assert [a["entity"] for a in first] == [elevator["equipment_code"]]

    sent.messages.clear()  # the crash: outputs lost, the ticks not checkpointed, memory gone
    app = _restarted(settings, log)
    async with app.agents["ticks"].test_context() as ticks:  # offsets from 0 again
        await ticks.put(WALL_TICK)  # the clocks were checkpointed: the same clocks go out
        assert [v for t, _, v in sent.messages if t == name] == [clock_tick]
        await ticks.put(clock_tick)  # the same message, redelivered
    again = [a for a in sent.on("alerts") if any(r["id"] == OFFLINE for r in a["reasons"])]
    assert [a["alert_id"] for a in again] == [a["alert_id"] for a in first]


async def test_a_clock_tick_ahead_of_the_restored_state_fires_no_false_silence(
    app: RiskLoopApp, sent: Sent, settings: Settings
) -> None:
    """Killed after a clock tick reached Kafka but before the checkpoint holding the readings
    it counted: the next owner reads the tick before those readings come again. Judged at the
    tick's time, an elevator whose later reading was not yet redone looked 45 minutes silent —
    most likely the offline tasks an uninterrupted run never opened in CI on 2026-12-06."""
    log = _capture(app)
    elevator, other = _elevators(app, 2)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)

    first = _reading(elevator, start, 0, 1)
    # elevator 25 min quiet at +45: not offline
    later = [_reading(elevator, start, 20, 2), _reading(other, start, 45, 1)]
    name = app.worker.topics.ticks.get_topic_name()
    async with (
        app.agents["equipment"].test_context() as equipment,
        app.agents["ticks"].test_context() as ticks,
    ):
        await equipment.put(encode(first), key=elevator["equipment_code"].encode())
        await app.worker.checkpoint.commit()
        for ev in later:
            await equipment.put(encode(ev), key=ev["equipment_code"].encode())
        await ticks.put(WALL_TICK)
        (ahead,) = [v for t, _, v in sent.messages if t == name]
    assert _offline(sent) == []

    sent.messages.clear()  # the crash: memory gone, the readings after the checkpoint not held
    app = _restarted(settings, log)
    async with (
        app.agents["equipment"].test_context() as equipment,
        app.agents["ticks"].test_context() as ticks,
    ):
        await ticks.put(ahead)  # the tick first, the readings redone after it
        assert _offline(sent) == []
        for ev in [first, *later]:  # from the partition's first offset: the first is skipped
            await equipment.put(encode(ev), key=ev["equipment_code"].encode())
        await ticks.put(WALL_TICK)
        redone = [v for t, _, v in sent.messages if t == name][-1]
        assert read_tick(redone).clocks == read_tick(ahead).clocks  # the same clock, judged now
        await ticks.put(redone)
    assert _offline(sent) == []
