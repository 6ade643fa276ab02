"""Complaints near premises through the real agents (streams/nearby.py): a located food
complaint taken in on one partition is copied to every partition and counted by each
partition's inspection model, once, however often its copy comes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import faust
import pytest

from streams.rekey import partition_of
from tests.streams.conftest import on_topic
from tests.streams.test_skeleton import encode

if TYPE_CHECKING:
    from streams.app import RiskLoopApp

LAT, LON = 30.2741, 120.1551
TOPIC = "riskloop.nearby-complaints"


@pytest.fixture
def sends(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int | None, bytes]]:
    """Every ``Topic.send`` as (topic, partition, value): the copies are addressed by partition."""
    captured: list[tuple[str, int | None, bytes]] = []

    async def send(
        self: faust.TopicT, *, value: Any = None, partition: int | None = None, **_: Any
    ) -> None:
        captured.append((self.get_topic_name(), partition, value))

    monkeypatch.setattr(faust.topics.Topic, "send", send)
    return captured


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
    models = app.worker.store.partitions[partition].models
    if models is None:
        return 0
    return int(models.registry.get("inspection-risk").nearby(LAT, LON, at))


async def _put_copies(app: RiskLoopApp, copies: list[tuple[int, bytes]]) -> None:
    """Feed copies to the ``nearby`` agent, each on its partition of the copies' topic."""
    async with app.agents["nearby"].test_context() as agent:
        on_topic(agent, TOPIC)
        for partition, value in copies:
            await agent.put(value, partition=partition)


async def test_a_complaint_taken_in_on_one_partition_counts_on_every_partition(
    app: RiskLoopApp, sends: list[tuple[str, int | None, bytes]]
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
    copies = [(p, v) for t, p, v in sends if t == TOPIC]
    # only the located food complaint travels, one copy per partition
    assert sorted(p for p, _ in copies) == list(range(n))
    assert all(food.encode() in v for _, v in copies)
    # its own partition did not count its place on the way in: only its copy counts
    assert _nearby(app, 1, at) == 0
    # every copy, and each a second time (its complaint redone after a crash)
    await _put_copies(app, [(p, v) for p, v in copies for _ in range(2)])
    assert [_nearby(app, p, at) for p in range(n)] == [1] * n
