"""Complaints near premises through the real agents (streams/nearby.py): a located food
complaint taken in on one partition is copied to every partition and counted by each
partition's inspection model, once, however often its copy comes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from streams.rekey import partition_of
from tests.streams.conftest import Sent, on_topic
from tests.streams.test_redelivery import _capture, _restarted
from tests.streams.test_skeleton import encode, metric

if TYPE_CHECKING:
    from config.settings import Settings
    from streams.app import RiskLoopApp

LAT, LON = 30.2741, 120.1551
TOPIC = "riskloop.nearby-complaints"


def _complaint(key: str, category: str, at: datetime, lat: float | None = LAT) -> dict[str, Any]:
    return {
        "event_id": key,
        "event_time": at.isoformat(),
        "channel": "12345",
        "text": "餐馆后厨有老鼠",
        "category": category,
        "lat": lat,
        "lon": LON if lat is not None else None,
    }


def _nearby(app: RiskLoopApp, partition: int, at: datetime) -> int:
    """What partition ``partition``'s inspection model counts near the place (its models as of
    its last marker when not used since a restart)."""
    state = app.worker.store.partitions[partition]
    if state.models is None:
        state.models = app.worker.runtime.models.build(state)  # type: ignore[union-attr]
    return int(state.models.registry.get("inspection-risk").nearby(LAT, LON, at))


async def _put_copies(app: RiskLoopApp, copies: list[tuple[int, bytes]]) -> None:
    """Feed copies to the ``nearby`` agent, each on its partition of the copies' topic."""
    async with app.agents["nearby"].test_context() as agent:
        on_topic(agent, TOPIC)
        for partition, value in copies:
            await agent.put(value, partition=partition)


async def test_a_complaint_taken_in_on_one_partition_counts_on_every_partition(
    app: RiskLoopApp, sent: Sent
) -> None:
    n = app.worker.settings.topics.partitions
    assert n > 1
    at = datetime.now(UTC) - timedelta(hours=1)
    food = next(k for k in (f"cmp-{i}" for i in range(100)) if partition_of(k, n) == 1)
    lift = next(k for k in (f"cmp-{i}" for i in range(100, 200)) if partition_of(k, n) == 1)
    away = next(k for k in (f"cmp-{i}" for i in range(200, 300)) if partition_of(k, n) == 2)
    async with app.agents["complaints"].test_context() as agent:
        await agent.put(encode(_complaint(food, "食品安全", at)), key=food.encode())
        await agent.put(encode(_complaint(lift, "特种设备", at)), key=lift.encode())
        await agent.put(encode(_complaint(away, "食品安全", at, lat=None)), key=away.encode())
    copies = sent.addressed(TOPIC)
    # only the located food complaint travels, one copy per partition
    assert sorted(p for p, _ in copies) == list(range(n))
    assert all(food.encode() in v for _, v in copies)
    # its own partition did not count its place on the way in: only its copy counts
    assert app.worker.store.partitions[1].models is not None
    assert _nearby(app, 1, at) == 0
    # every copy, and each a second time (its complaint redone after a crash)
    await _put_copies(app, [(p, v) for p, v in copies for _ in range(2)])
    assert [_nearby(app, p, at) for p in range(n)] == [1] * n


async def test_a_counted_copy_survives_a_crash_and_is_not_counted_again(
    app: RiskLoopApp, sent: Sent, settings: Settings
) -> None:
    """Crash after the checkpoint: the count comes back with the partition's models, the
    copies redelivered at their offsets are skipped, and a copy made again (its complaint redone
    on its own partition, a new offset) is not counted twice."""
    log = _capture(app)
    n = settings.topics.partitions
    at = datetime.now(UTC) - timedelta(hours=1)
    async with app.agents["complaints"].test_context() as agent:
        await agent.put(encode(_complaint("cmp-crash", "卫生计生", at)), key=b"cmp-crash")
    copies = sent.addressed(TOPIC)
    assert len(copies) == n
    await _put_copies(app, copies)
    assert [_nearby(app, p, at) for p in range(n)] == [1] * n
    assert await app.worker.checkpoint.commit() > 0

    again = _restarted(settings, log)
    assert [_nearby(again, p, at) for p in range(n)] == [1] * n  # restored with the models
    # offsets 0…n-1 again (absorbed before the crash), then n…2n-1 (the copies made again)
    await _put_copies(again, copies + copies)
    assert [_nearby(again, p, at) for p in range(n)] == [1] * n
    skipped = metric(again, "riskloop_redelivered_skipped_total", topic=TOPIC)
    assert skipped == 2 * n
