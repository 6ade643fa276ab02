"""Waiting for the worker's verdict on a disposition (``tasks.verdicts``), for the API and CLI.

Only the worker holding a task's partition knows its state, so whoever sends a disposition —
the CLI, or the API on any worker — first notes where ``tasks.verdicts`` ends, then sends, then
reads on from there until the verdict with its event id arrives. Nothing is read from before
the send, so an old verdict cannot answer a new request; a retry with the same idempotency key
(same event id) gets the worker's ``duplicate`` answer. Blocking (confluent-kafka): the API runs
it in a thread.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition
from pydantic import ValidationError

from infra.errors import InfraError
from schemas.records import Disposition, DispositionVerdict
from streams import kafka_clients

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from config.settings import Settings

VERDICT_TIMEOUT = 15.0
"""Seconds the CLI waits for a verdict: a worker applies a disposition in milliseconds, but a
rebalance or a commit stall can hold its partition for a few seconds."""

API_VERDICT_TIMEOUT = 8.0
"""The API waits less: HTTP clients commonly give up after 10 s (it then answers 202)."""


def door_problem(settings: Settings, record: Disposition) -> str | None:
    """Why the worker's door (schemas/ingest.py) would dead-letter this disposition before any
    verdict — ``"bad_identifier: …"`` — or None. Checked before sending: such a record never
    reaches the task stage, so nobody would answer it."""
    from schemas.errors import ValidationFailed
    from schemas.ingest import IngestLimits, decode_source

    try:
        decode_source(
            "dispositions",
            record.model_dump_json().encode(),
            limits=IngestLimits.from_settings(settings),
            now=record.event_time,
        )
    except ValidationFailed as exc:
        return str(exc)  # "reason: field: what is wrong"
    return None


class TopicTail:
    """A reader of one topic positioned at its end when made (no consumer group): what it
    reads was written after it was made — an answer to what its owner sends next."""

    def __init__(self, settings: Settings, topic: str, timeout: float = 10.0) -> None:
        self.topic = topic
        self.consumer = Consumer(
            {
                **kafka_clients.confluent(settings),
                "group.id": f"riskloop-tail-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "log_level": 0,
            }
        )
        try:
            meta = self.consumer.list_topics(topic, timeout=timeout)
            partitions = sorted(meta.topics[topic].partitions)
            if not partitions:
                raise InfraError(f"topic {topic} does not exist: run `riskloop topics create`")
            ends = [
                TopicPartition(
                    topic,
                    p,
                    self.consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)[
                        1
                    ],
                )
                for p in partitions
            ]
        except KafkaException as exc:
            self.consumer.close()
            raise InfraError(f"cannot read {topic}: {exc.args[0].str()}") from exc
        except BaseException:
            self.consumer.close()
            raise
        self.consumer.assign(ends)

    def values(self, timeout: float) -> Iterator[bytes]:
        """Each record's value as it arrives, until ``timeout`` seconds have passed."""
        for msg in self.messages(timeout):
            value = msg.value()
            if value is not None:
                yield value

    def messages(self, timeout: float) -> Iterator[Message]:
        """Each record as it arrives (headers too), until ``timeout`` seconds have passed."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            msg = self.consumer.poll(min(0.5, left))
            if msg is not None and not msg.error():
                yield msg

    def close(self) -> None:
        """Close the consumer: it holds a broker connection and its own threads."""
        self.consumer.close()


class VerdictWatch(TopicTail):
    """:class:`TopicTail` of ``tasks.verdicts``."""

    def __init__(self, settings: Settings, timeout: float = 10.0) -> None:
        super().__init__(settings, settings.topics.verdicts, timeout)

    def wait(self, event_id: str, timeout: float = VERDICT_TIMEOUT) -> DispositionVerdict | None:
        """The verdict on ``event_id``, or None if none came within ``timeout`` seconds."""
        for value in self.values(timeout):
            try:
                verdict = DispositionVerdict.model_validate_json(value)
            except ValidationError:
                continue  # not ours to judge: someone else's record on the topic
            if verdict.event_id == event_id:
                return verdict
        return None


def send_and_wait(
    settings: Settings, event_id: str, send: Callable[[], None], timeout: float = VERDICT_TIMEOUT
) -> DispositionVerdict | None:
    """Note the end of ``tasks.verdicts``, ``send()``, wait for the verdict on ``event_id``."""
    watch = VerdictWatch(settings)
    try:
        send()
        return watch.wait(event_id, timeout)
    finally:
        watch.close()
