"""`produce_replay` when Kafka refuses a record as too large: a rejected row, not a traceback,
and the records queued before and after it are still delivered."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from config.settings import Settings
from infra.errors import InfraError
from streams import producer as producer_module
from streams import replay
from streams.replay import Outgoing, Pacer, ReplaySummary, _produce_one, produce_replay

if TYPE_CHECKING:
    from collections.abc import Callable

LIMIT = 1000


class FakeProducer:
    """confluent-kafka's producer as replay uses it: a local size check, then deliveries."""

    def __init__(self, broker_limit: int = LIMIT, local_limit: int = LIMIT) -> None:
        self.broker_limit, self.local_limit = broker_limit, local_limit
        self.queued: list[tuple[bytes, Callable[..., None]]] = []
        self.sent: list[bytes] = []
        self.fail_on: bytes | None = None

    def produce(self, topic: str, *, key: Any, value: bytes, on_delivery: Any) -> None:
        if value == self.fail_on:
            raise KafkaException(KafkaError(KafkaError._UNKNOWN_TOPIC))
        if len(value) > self.local_limit:
            raise KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))
        self.queued.append((value, on_delivery))

    def poll(self, _timeout: float = 0) -> int:
        return 0

    def flush(self, _timeout: float = 0) -> int:
        for value, callback in self.queued:
            if len(value) > self.broker_limit:
                callback(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), None)
            else:
                self.sent.append(value)
                callback(None, None)
        self.queued.clear()
        return 0


def _items(*sizes: int) -> list[Outgoing]:
    return [Outgoing(n, None, bytes([65 + n]) * size, None) for n, size in enumerate(sizes, 1)]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeProducer:
    made = FakeProducer()
    monkeypatch.setattr(producer_module, "make_producer", lambda *_a, **_k: made)
    monkeypatch.setattr(replay, "require_topic", lambda *_a: None)
    return made


def _replay(items: list[Outgoing]) -> ReplaySummary:
    summary = ReplaySummary()
    produce_replay(Settings(), "trucks.gps", items, summary, pacer=Pacer("none"))
    return summary


def test_a_record_too_large_for_the_producer_is_a_rejected_row(fake: FakeProducer) -> None:
    summary = _replay(_items(10, LIMIT + 1, 20))
    assert summary.delivered == 2
    assert summary.failed == 0
    assert [(r.line, r.reason) for r in summary.rejected] == [(2, "too_large")]
    assert [len(v) for v in fake.sent] == [10, 20]


def test_a_record_the_broker_refuses_is_a_rejected_row(fake: FakeProducer) -> None:
    fake.local_limit = 10 * LIMIT  # the producer allows it, the topic does not
    summary = _replay(_items(10, LIMIT + 1, 20))
    assert summary.delivered == 2
    assert summary.failed == 0
    assert [(r.line, r.reason) for r in summary.rejected] == [(2, "too_large")]


def test_another_error_still_flushes_what_was_queued(fake: FakeProducer) -> None:
    items = _items(10, 11, 12)
    fake.fail_on = items[2].value
    with pytest.raises(KafkaException):
        _replay(items)
    assert [len(v) for v in fake.sent] == [10, 11]  # not lost with the traceback


def test_the_real_producer_refusal_is_the_one_caught() -> None:
    real = producer_module.make_producer("127.0.0.1:1", {"message.max.bytes": LIMIT})
    summary = ReplaySummary()
    _produce_one(real, "t", _items(2 * LIMIT)[0], summary)
    assert [r.reason for r in summary.rejected] == ["too_large"]
    assert "Message size too large" in summary.rejected[0].message


def test_undelivered_records_still_end_in_an_infra_error(fake: FakeProducer) -> None:
    def flaky_flush(_timeout: float = 0) -> int:
        for _value, callback in fake.queued:
            callback(KafkaError(KafkaError._MSG_TIMED_OUT), None)
        fake.queued.clear()
        return 0

    fake.flush = flaky_flush  # type: ignore[method-assign]
    with pytest.raises(InfraError, match="1 records not delivered"):
        _replay(_items(10))
