"""The worker's producer (streams/producer.py ``WorkerProducer``): what the checkpoint's order
needs from it — sends that wait while librdkafka's queue is full, a flush that raises unless the
broker took every record, and an output refused for good that stops every later checkpoint."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from config.settings import Settings
from infra.errors import InfraError
from infra.ports import free_port
from streams.producer import WorkerProducer

CHANGELOG = "riskloop-state-changelog"


class Refusal:
    """What librdkafka hands a delivery report: the error and the message."""

    def __init__(self, topic: str) -> None:
        self._topic = topic

    def str(self) -> str:
        return "Broker: Message size too large"

    def topic(self) -> str:
        return self._topic


class FakeProducer:
    """confluent-kafka's ``Producer`` as the worker uses it; ``full`` sends are refused with
    ``BufferError`` first, ``refuse`` topics are reported as refused at the flush."""

    def __init__(self, worker: WorkerProducer, full: int = 0) -> None:
        self.worker = worker
        self.full = full
        self.queued: list[tuple[str, bytes | None, bytes | None, int | None]] = []
        self.refuse: list[str] = []
        self.left = 0

    def produce(self, topic: str, value: Any, key: Any, partition: int | None = None) -> None:
        if self.full:
            self.full -= 1
            raise BufferError("Local: Queue full")
        self.queued.append((topic, key, value, partition))

    def poll(self, _timeout: float) -> int:
        return 0

    def flush(self, _timeout: float) -> int:
        for topic in self.refuse:
            refusal = Refusal(topic)
            self.worker._report(refusal, refusal)  # type: ignore[arg-type]
        self.refuse = []
        return self.left


def _worker(
    lost: list[tuple[str, str]] | None = None, full: int = 0
) -> tuple[WorkerProducer, FakeProducer]:
    settings = Settings(_env_file=None)
    worker = WorkerProducer(
        settings,
        retried=CHANGELOG,
        on_lost=lambda t, e: (lost if lost is not None else []).append((t, e)),
    )
    fake = FakeProducer(worker, full)
    worker._producer = fake  # type: ignore[assignment]
    return worker, fake


async def test_a_send_waits_while_the_queue_is_full_without_blocking_the_loop() -> None:
    worker, fake = _worker(full=3)
    ticks = 0

    async def other() -> None:
        nonlocal ticks
        while not fake.queued:
            ticks += 1
            await asyncio.sleep(0.01)

    await asyncio.gather(worker.send("alerts", b"k", b"v"), other())
    assert fake.queued == [("alerts", b"k", b"v", None)]
    assert ticks >= 3, "the loop ran while the send waited"


async def test_a_partition_given_is_the_partition_used() -> None:
    worker, fake = _worker()
    await worker.send(CHANGELOG, b"warnings/x", b"{}", 2)
    assert fake.queued == [(CHANGELOG, b"warnings/x", b"{}", 2)]


async def test_a_flush_with_records_not_acknowledged_raises_and_they_stay_queued() -> None:
    worker, fake = _worker()
    await worker.send("alerts", b"k", b"v")
    fake.left = 1
    with pytest.raises(InfraError, match="1 records not acknowledged"):
        await worker.flush()
    fake.left = 0
    await worker.flush()  # acknowledged later: the next checkpoint goes through


async def test_a_changelog_record_refused_fails_that_flush_only() -> None:
    lost: list[tuple[str, str]] = []
    worker, fake = _worker(lost)
    fake.refuse = [CHANGELOG]
    with pytest.raises(InfraError, match=CHANGELOG):
        await worker.flush()
    await worker.flush()  # the checkpoint writes its keys again; nothing is lost for good
    assert lost == []
    assert worker.lost is None


async def test_an_output_refused_stops_every_later_checkpoint() -> None:
    lost: list[tuple[str, str]] = []
    worker, fake = _worker(lost)
    fake.refuse = ["alerts"]
    for _ in range(3):
        with pytest.raises(InfraError, match="refused a record for alerts.*restarts"):
            await worker.flush()
    assert lost == [("alerts", "Broker: Message size too large")]


async def test_a_worker_that_never_sent_flushes_at_once() -> None:
    worker = WorkerProducer(Settings(_env_file=None))
    await worker.flush()
    await worker.close()
    assert worker._producer is None


async def test_a_record_too_large_raises_at_the_send() -> None:
    """librdkafka checks the size locally: the handler that sent it fails, nothing is queued."""
    from confluent_kafka import KafkaException

    settings = Settings(_env_file=None, kafka_broker=f"kafka://127.0.0.1:{free_port()}")
    worker = WorkerProducer(settings)
    with pytest.raises(KafkaException, match="MSG_SIZE_TOO_LARGE"):
        await worker.send("alerts", b"k", b"x" * 2_000_000)
    await worker.close(timeout=0.1)


async def test_the_real_producer_takes_the_settings_and_fails_a_flush_with_no_broker() -> None:
    """librdkafka accepts the configuration (an unknown property would raise when the producer
    is made), and with nobody listening the flush fails instead of saying "stored"."""
    settings = Settings(_env_file=None, kafka_broker=f"kafka://127.0.0.1:{free_port()}")
    worker = WorkerProducer(settings)
    await worker.send("alerts", b"k", b"v")
    with pytest.raises(InfraError, match="not acknowledged"):
        await worker.flush(timeout=0.5)
    await worker.close(timeout=0.1)
