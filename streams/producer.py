"""The one place every Kafka producer of the project is built: always Kafka's murmur2 partitioner.

A record keyed by ``k`` must land on the partition Faust (aiokafka, Java clients) gives ``k``:
tables are partitioned that way, so a disposition keyed by its task id is only found by the
worker that holds the task if both agree. librdkafka's default partitioner is
``consistent_random`` (CRC32), which agrees for few keys; a producer built by hand once sent 20
of 24 dispositions to the wrong partition, where they were dead-lettered as ``unknown_task``.
So nobody builds a producer by hand: :func:`make_producer` (confluent-kafka) and
:func:`make_async_producer` (aiokafka) pin the partitioner, and :func:`deliver` is the one way
to produce a record and know that the broker has it. A worker's outputs and state changelog
go through one :class:`WorkerProducer` (confluent-kafka, asyncio-facing).

>>> producer_config("127.0.0.1:9092")["partitioner"]
'murmur2_random'
>>> producer_config("127.0.0.1:9092", {"partitioner": "random"})
Traceback (most recent call last):
...
ValueError: the partitioner is fixed to murmur2_random (see streams/producer.py)
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from confluent_kafka import KafkaError, Message, Producer

from infra.errors import InfraError
from streams.kafka_clients import aiokafka, confluent

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from config.settings import Settings

PARTITIONER = "murmur2_random"  # Java's and aiokafka's murmur2; random only for null keys


def producer_config(
    target: Settings | str, extra: Mapping[str, object] | None = None
) -> dict[str, object]:
    """confluent-kafka settings: murmur2 partitioning, idempotence, quiet logs, plus ``extra``.

    ``target`` is the settings (the broker and its credentials, :mod:`streams.kafka_clients`)
    or a bootstrap string (test helpers know only the latter).
    """
    extra = dict(extra or {})
    if extra.get("partitioner", PARTITIONER) != PARTITIONER:
        raise ValueError(f"the partitioner is fixed to {PARTITIONER} (see streams/producer.py)")
    connect = {"bootstrap.servers": target} if isinstance(target, str) else confluent(target)
    return {
        **connect,
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
    return AIOKafkaProducer(**aiokafka(settings), partitioner=DefaultPartitioner(), **kwargs)


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


FLUSH_SECONDS = 30.0
"""How long a worker's flush waits for the broker's acknowledgements before it fails (the
checkpoint then commits nothing and tries again; the records stay queued, nothing is lost)."""
QUEUE_KBYTES = 64 * 1024
"""librdkafka's queue of records not yet acknowledged, at most (KiB; its default is 1 GiB): a
broker that is away makes sends wait (:meth:`WorkerProducer.send`), not the heap grow."""


class WorkerProducer:
    """A worker's one producer for its outputs and its state changelog: confluent-kafka.

    Why not Faust's (aiokafka's) producer: aiokafka builds batches, requests and socket writes
    on the event loop, in the worker's one busy thread. py-spy put its send path at 4.4 % and
    its sender at 2.4 % of that thread's samples (bench/RESULTS.md, 2026-12-06 15:04);
    librdkafka does the same in its own threads without the GIL, and a ``produce`` costs the
    loop ~10–20 µs (``python -m bench.producer_cost``).

    What the checkpoint's order needs from it (streams/checkpoint.py): :meth:`send` queues a
    record (waiting, without blocking the loop, while librdkafka's queue is full); :meth:`flush`
    returns once the broker has acknowledged every record sent before it, and raises
    otherwise. Records are never given up on for time (``message.timeout.ms`` 0: a broker away
    for an hour delays them, the flush fails meanwhile and the checkpoint commits nothing).
    A record the broker refuses for good (too large, not authorised) is a failure the flush
    raises; for an *output* it stays raised (``lost``): the events that sent it are absorbed,
    so a checkpoint after it would commit their offsets without their outputs. Only a restart
    redoes them from the last checkpoint. A refused record of ``retried`` (the changelog, whose
    keys a failed checkpoint writes again) fails that flush only.

    The confluent-kafka producer is made at the first send: a worker under test that never
    produces (tests/streams) starts no librdkafka threads.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        retried: str = "",
        on_lost: Callable[[str, str], None] | None = None,
    ) -> None:
        self._config = producer_config(
            settings,
            {
                "linger.ms": settings.producer_linger * 1000,
                "acks": "all",
                "message.timeout.ms": 0,
                "queue.buffering.max.kbytes": QUEUE_KBYTES,
                "message.max.bytes": 1_048_576,  # aiokafka's max_request_size, as before
                "delivery.report.only.error": True,
                "on_delivery": self._report,
            },
        )
        self._producer: Producer | None = None
        self.retried = retried
        self.on_lost = on_lost
        self.lost: str | None = None
        """Why an output was refused, once one was: every later flush raises it."""
        self._refused: str | None = None

    def _report(self, err: KafkaError | None, msg: Message) -> None:
        """The delivery report of a refused record (librdkafka reports only those): called in
        :meth:`flush`'s thread or a ``poll`` on the loop."""
        if err is None:
            return
        topic = msg.topic() or "?"
        reason = f"the broker refused a record for {topic}: {err.str()}"
        if topic == self.retried:
            self._refused = self._refused or reason
            return
        if self.lost is None:
            self.lost = reason
        if self.on_lost is not None:
            self.on_lost(topic, err.str())

    def _made(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(self._config)
        return self._producer

    async def send(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None
    ) -> None:
        """Queue one record (``partition`` None: the key's, by murmur2). A record over
        ``message.max.bytes`` raises here (``KafkaException``, MSG_SIZE_TOO_LARGE: librdkafka's
        local check), so its handler fails as any raising handler does."""
        producer = self._made()
        while True:
            try:
                if partition is None:
                    producer.produce(topic, value, key)
                else:
                    producer.produce(topic, value, key, partition)
                return
            except BufferError:  # the queue is full: the broker is slow or away
                producer.poll(0)
                await asyncio.sleep(0.05)

    async def flush(self, timeout: float = FLUSH_SECONDS) -> None:  # noqa: ASYNC109
        """Wait (in a thread: librdkafka releases the GIL) until the broker has acknowledged
        every record sent so far; raise :class:`~infra.errors.InfraError` if it has not
        within ``timeout`` s, or refused one (module docstring)."""
        if self._producer is None:
            return
        left = await asyncio.to_thread(self._producer.flush, timeout)
        refused, self._refused = self._refused, None
        if self.lost is not None:
            raise InfraError(
                f"{self.lost}; no checkpoint until the worker restarts and redoes its events"
            )
        if refused is not None:
            raise InfraError(refused)
        if left:
            raise InfraError(f"{left} records not acknowledged by the broker within {timeout:g} s")

    async def close(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Flush what is queued (at most ``timeout`` s) and let the producer go."""
        if self._producer is not None:
            await asyncio.to_thread(self._producer.flush, timeout)
            self._producer = None
