"""The one place every Kafka producer of the project is built: always Kafka's murmur2 partitioner.

A record keyed by ``k`` must land on the partition Faust (aiokafka, Java clients) gives ``k``:
tables are partitioned that way, so a disposition keyed by its task id is only found by the
worker that holds the task if both agree. librdkafka's default partitioner is
``consistent_random`` (CRC32), which agrees for few keys; a producer built by hand once sent 20
of 24 dispositions to the wrong partition, where they were dead-lettered as ``unknown_task``.
So nobody builds a producer by hand: :func:`make_producer` (confluent-kafka) and
:func:`make_async_producer` (aiokafka) pin the partitioner, and :func:`deliver` is the one way
to produce a record and know that the broker has it.

>>> producer_config("127.0.0.1:9092")["partitioner"]
'murmur2_random'
>>> producer_config("127.0.0.1:9092", {"partitioner": "random"})
Traceback (most recent call last):
...
ValueError: the partitioner is fixed to murmur2_random (see streams/producer.py)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from confluent_kafka import KafkaError, Message, Producer

from infra.errors import InfraError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from config.settings import Settings

PARTITIONER = "murmur2_random"  # Java's and aiokafka's murmur2; random only for null keys


def producer_config(
    target: Settings | str, extra: Mapping[str, object] | None = None
) -> dict[str, object]:
    """confluent-kafka settings: murmur2 partitioning, idempotence, quiet logs, plus ``extra``.

    ``target`` is the settings or a bootstrap string (test helpers know only the latter).
    """
    extra = dict(extra or {})
    if extra.get("partitioner", PARTITIONER) != PARTITIONER:
        raise ValueError(f"the partitioner is fixed to {PARTITIONER} (see streams/producer.py)")
    bootstrap = target if isinstance(target, str) else target.bootstrap_servers
    return {
        "bootstrap.servers": bootstrap,
        "linger.ms": 5,
        "log_level": 0,
        "enable.idempotence": True,
        **extra,
        "partitioner": PARTITIONER,
    }


def make_producer(target: Settings | str, extra: Mapping[str, object] | None = None) -> Producer:
    """A confluent-kafka producer with :func:`producer_config`."""
    return Producer(producer_config(target, extra))


def make_async_producer(settings: Settings, **kwargs: Any) -> AIOKafkaProducer:
    """An aiokafka producer; its default partitioner is murmur2 already, named here so the
    choice is visible and cannot drift."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, partitioner=DefaultPartitioner(), **kwargs
    )


def deliver(
    producer: Producer,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    timeout: float = 30,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    """Produce one record and return only once the broker acknowledged it; else one clear line.

    ``flush`` returning with the record still queued is a failure too (the broker never said
    yes), not silence: a CLI that prints "sent" must mean it.
    """
    outcome: list[KafkaError | None] = []

    def report(err: KafkaError | None, _msg: Message) -> None:
        outcome.append(err)

    sent: Any = headers  # confluent's stub wants list[tuple[str, str | bytes | None]] (invariant)
    producer.produce(topic, key=key, value=value, headers=sent, on_delivery=report)
    left = producer.flush(timeout)
    if outcome and outcome[0] is not None:
        raise InfraError(f"the broker refused the record for {topic}: {outcome[0].str()}")
    if left or not outcome:
        raise InfraError(
            f"the broker did not acknowledge the record for {topic} within {timeout:g} s; "
            "it may still arrive, so check before sending it again"
        )
