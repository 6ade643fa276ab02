"""What a processor wrote, counted at the broker: messages and bytes per input event.

Messages: the sum over every topic the run wrote (outputs, internal topics, changelogs, Faust's
own) of the high-watermark delta between a snapshot before the processor started and one after
it finished — one ``ListOffsets`` request each, whatever the volume. Every trial writes only to
topics whose names carry its own tag, so "every topic it writes" is "every topic with the tag".

Bytes: a consumer reads exactly those offset ranges back and adds up key + value + header bytes
of each record, the same measure as the input's key + value bytes. That is the payload the
processor asked Kafka to store, before batching and compression; it costs one local read of
what was written (seconds for tens of thousands of events) and needs no access to the broker's
log folder. Compaction is held off the trial's topics while it runs (:func:`hold_compaction`),
so no record is gone before it is counted; if one is anyway, the bytes are marked a lower bound.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    OffsetSpec,
    ResourceType,
)

from bench.stats import BenchError, ratio
from streams import kafka_clients
from streams.admin import admin_client

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from config.settings import Settings

Offsets = dict[tuple[str, int], int]
"""(topic, partition) → high watermark."""
STATE_CHANGELOG = "-state-changelog"


def tagged_topics(settings: Settings, tag: str) -> dict[str, int]:
    """Topic → partition count, for every topic whose name contains ``tag``."""
    client = admin_client(settings)
    meta = client.list_topics(timeout=10)
    return {name: len(t.partitions) for name, t in meta.topics.items() if tag in name}


def high_watermarks(
    settings: Settings, topics: Mapping[str, int], client: AdminClient | None = None
) -> Offsets:
    """The high watermark of every partition of ``topics``, in one request."""
    if not topics:
        return {}
    request = {
        TopicPartition(t, p): OffsetSpec.latest() for t, n in topics.items() for p in range(n)
    }
    client = client or admin_client(
        settings
    )  # referenced until the futures resolve (else they never)
    deadline = time.monotonic() + 10.0
    while True:
        try:
            futures = client.list_offsets(request, request_timeout=15)
            return {(tp.topic, tp.partition): f.result(30).offset for tp, f in futures.items()}
        except KafkaException as exc:
            # a topic created (or deleted) a moment ago may not have its leaders known
            # everywhere yet: that passes within seconds; anything else is still there after 10
            if time.monotonic() > deadline:
                raise BenchError(f"listing offsets failed: {exc.args[0].str()}") from exc
            time.sleep(0.2)
        except TimeoutError as exc:
            raise BenchError("listing offsets timed out after 30 s") from exc


def written(start: Mapping[tuple[str, int], int], end: Mapping[tuple[str, int], int]) -> Offsets:
    """(topic, partition) → first offset written during the run, for partitions that grew.

    A partition missing from ``start`` (a topic the processor created) starts at 0.

    >>> written({("a", 0): 5}, {("a", 0): 7, ("a", 1): 0, ("b", 0): 3})
    {('a', 0): 5, ('b', 0): 0}
    """
    return {tp: start.get(tp, 0) for tp, hi in end.items() if hi > start.get(tp, 0)}


def messages_by_topic(
    start: Mapping[tuple[str, int], int], end: Mapping[tuple[str, int], int]
) -> dict[str, int]:
    """Messages written per topic between the two snapshots.

    >>> messages_by_topic({("a", 0): 5}, {("a", 0): 7, ("a", 1): 2, ("b", 0): 0})
    {'a': 4}
    """
    out: dict[str, int] = {}
    for (topic, p), lo in written(start, end).items():
        out[topic] = out.get(topic, 0) + end[(topic, p)] - lo
    return out


def state_part(key: bytes | None) -> str:
    """What a state-changelog record holds, by its key: the table (``warnings/F`` →
    ``warnings``), the models' chunks and index, or the checkpoint marker.

    >>> state_part(b"warnings/913301"), state_part(b"~model/x/0"), state_part(b"~checkpoint")
    ('warnings', '~model', '~checkpoint')
    """
    raw = (key or b"").decode(errors="replace")
    return raw.split("/", 1)[0] or "?"


def read_bytes(
    settings: Settings,
    start: Mapping[tuple[str, int], int],
    end: Mapping[tuple[str, int], int],
    timeout: float = 120.0,
    parts: dict[str, list[int]] | None = None,
) -> tuple[dict[str, int], int]:
    """(key + value + header bytes per topic, records) of every record between the snapshots.

    ``parts``, when given, is filled with ``[records, bytes]`` per :func:`state_part` of the
    state changelog's records: which table the volume is.

    Reads each partition until its position passes the end snapshot; records a compaction
    removed meanwhile are simply not there, so fewer records than offsets means the bytes are
    a lower bound (the bench holds compaction off its trial topics to prevent that).
    """
    ranges = {tp: (lo, end[tp]) for tp, lo in written(start, end).items()}
    if not ranges:
        return {}, 0
    consumer = Consumer(
        {
            **kafka_clients.confluent(settings),
            "group.id": f"bench-bytes-{uuid.uuid4().hex[:6]}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "log_level": 0,
            "fetch.max.bytes": 64 * 2**20,
            "max.partition.fetch.bytes": 16 * 2**20,
        }
    )
    consumer.assign([TopicPartition(t, p, lo) for (t, p), (lo, _) in ranges.items()])
    pending = set(ranges)
    size: dict[str, int] = {}
    records = 0
    deadline = time.monotonic() + timeout
    try:
        while pending:
            if time.monotonic() > deadline:
                raise BenchError(f"reading back the run's output: {len(pending)} partitions unread")
            for msg in consumer.consume(num_messages=10_000, timeout=0.5):
                tp = (str(msg.topic()), int(msg.partition() or 0))
                if tp not in ranges:
                    continue
                offset = int(msg.offset() or 0)
                if msg.error() is not None:  # partition EOF: the log ends here
                    if offset >= ranges[tp][1]:
                        pending.discard(tp)
                    continue
                if offset >= ranges[tp][1] - 1:
                    pending.discard(tp)
                if offset >= ranges[tp][1]:
                    continue
                records += 1
                n = _size(msg.key()) + _size(msg.value())
                n += sum(_size(h[0]) + _size(h[1]) for h in _headers(msg))
                size[tp[0]] = size.get(tp[0], 0) + n
                if parts is not None and tp[0].endswith(STATE_CHANGELOG):
                    part = parts.setdefault(state_part(msg.key()), [0, 0])
                    part[0] += 1
                    part[1] += n
    finally:
        consumer.close()
    return size, records


def hold_compaction(settings: Settings, topics: Sequence[str]) -> None:
    """Keep the log cleaner off ``topics`` while a trial runs (``min.compaction.lag.ms`` of a
    day), so that every record written can still be read back and counted: a busy changelog
    partition rolls its 64 MB segment within a run, and compaction would remove records."""
    if not topics:
        return
    client = admin_client(settings)
    entry = ConfigEntry(
        "min.compaction.lag.ms", str(24 * 3600 * 1000), incremental_operation=AlterConfigOpType.SET
    )
    resources = [ConfigResource(ResourceType.TOPIC, t, incremental_configs=[entry]) for t in topics]
    try:
        for future in client.incremental_alter_configs(resources).values():
            future.result(30)
    except KafkaException as exc:
        raise BenchError(f"holding compaction off the trial's topics failed: {exc}") from exc


def _headers(msg: Any) -> list[tuple[str, bytes | None]]:
    return list(msg.headers() or [])


def _size(data: str | bytes | None) -> int:
    return len(data.encode() if isinstance(data, str) else data or b"")


@dataclass
class Volume:
    """What one trial wrote: messages and payload bytes, against the events and bytes it read."""

    events: int
    bytes_in: int
    messages: int
    bytes_out: int
    by_topic: dict[str, int] = field(default_factory=dict)
    """Messages per topic."""
    bytes_by_topic: dict[str, int] = field(default_factory=dict)
    records_read: int | None = None
    """Records read back for ``bytes_out``; fewer than ``messages``: bytes are a lower bound."""
    state_parts: dict[str, list[int]] = field(default_factory=dict)
    """The state changelog by table (and models, marker): ``[records, bytes]``."""

    @property
    def bytes_complete(self) -> bool:
        """Whether ``bytes_out`` is exact: every message was read back to count its bytes."""
        return self.records_read is None or self.records_read >= self.messages

    @property
    def messages_per_event(self) -> float:
        """Messages written per event read: the amplification the report compares."""
        return ratio(self.messages, self.events)

    @property
    def bytes_ratio(self) -> float:
        """Bytes written per byte read."""
        return ratio(self.bytes_out, self.bytes_in)

    def as_dict(self) -> dict[str, object]:
        """The volume as JSON, with the ratios the report shows."""
        return {
            **self.__dict__,
            "messages_per_event": self.messages_per_event,
            "bytes_ratio": self.bytes_ratio,
            "bytes_complete": self.bytes_complete,
        }


def short_topic(name: str, tag: str) -> str:
    """A run's topic without its per-run part, for the report.

    >>> short_topic("bench.x-pipeline-1.alerts", "x-pipeline-1")
    'alerts'
    >>> short_topic("bench-x-pipeline-1-warnings-changelog", "x-pipeline-1")
    'warnings-changelog'
    """
    _, found, rest = name.partition(tag)
    return rest[1:] if found and rest else name


def admin(settings: Settings) -> AdminClient:
    """One AdminClient to reuse for many looks (making one per look costs a connection)."""
    return admin_client(settings)
