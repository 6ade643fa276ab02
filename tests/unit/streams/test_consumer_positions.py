"""Point 4 of streams/consumer.py: Faust's livelock check skips a partition with no position.

Uses aiokafka's real ``SubscriptionState``: a partition assigned (or sought to the beginning)
has no position until the fetcher resets it, and reading ``position`` then asserts — what
crashed a worker's consumer in the failover scenario.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.consumer.subscription_state import SubscriptionState
from faust.types import TP

from streams.consumer import has_position, install

TOPIC = TP("equipment.readings", 0)


def _consumer(subscription: SubscriptionState) -> Any:
    """What ``install`` wraps, with the livelock check Faust would run: it reads the position."""
    checked: list[int] = []

    def verify_event_path(now: float, tp: TP) -> None:
        state = subscription.subscription.assignment.state_value(TopicPartition(*tp))  # type: ignore[union-attr]
        checked.append(state.position)

    async def nothing(*_: Any) -> bool:
        return True

    return SimpleNamespace(
        _thread=SimpleNamespace(
            _consumer=SimpleNamespace(_subscription=subscription), _fetch_records=nothing
        ),
        _commit=nothing,
        perform_seek=nothing,
        verify_event_path=verify_event_path,
        checked=checked,
    )


def test_a_partition_without_a_position_is_not_checked_until_it_has_one() -> None:
    async def run() -> None:
        subscription = SubscriptionState()
        subscription.assign_from_user({TopicPartition(*TOPIC)})
        consumer = _consumer(subscription)
        state = subscription.subscription.assignment.state_value(TopicPartition(*TOPIC))  # type: ignore[union-attr]
        with pytest.raises(AssertionError):
            consumer.verify_event_path(0.0, TOPIC)  # Faust's check alone: the crash
        install(consumer, checkpoint=None, metrics=None, sources=[TOPIC.topic])  # type: ignore[arg-type]
        assert not has_position(consumer, TOPIC)
        consumer.verify_event_path(0.0, TOPIC)  # skipped, no crash
        assert consumer.checked == []
        state.seek(42)  # the fetcher reset it
        assert has_position(consumer, TOPIC)
        consumer.verify_event_path(0.0, TOPIC)
        assert consumer.checked == [42]

    asyncio.run(run())


def test_a_consumer_without_an_assignment_leaves_the_check_to_faust() -> None:
    assert has_position(SimpleNamespace(_thread=None), TOPIC)
    unassigned = SimpleNamespace(_thread=SimpleNamespace(_consumer=SimpleNamespace()))
    assert has_position(unassigned, TOPIC)
