"""Replay a dataset file into a source topic: rows → (key, value) pairs, paced, then produced.

Two layers, so the interesting part is testable without Kafka:

- :func:`iter_replay` is pure: it reads a CSV / CSV.gz through a mapping (or a JSONL of ready
  records, sent byte for byte), keys each record like the topic map does and yields
  :class:`Outgoing` items, while a :class:`ReplaySummary` counts what was read, yielded and
  rejected (a mapping error names the file's line and column). It never validates against the
  data standard: judging records is the worker's job, and a replay of deliberately bad lines
  must reach the worker's dead-letter topic with its original bytes.
- :func:`produce_replay` is the thin Kafka layer: murmur2 partitioning (``streams.producer``), a
  :class:`Pacer` between sends, delivery reports counted into the summary.

Pacing spaces the *sends*; event times inside the records are never rewritten (a replay is
evidence of what happened then, and the worker's staleness check is configured, not dodged).

>>> import json, tempfile, pathlib
>>> f = pathlib.Path(tempfile.mkdtemp()) / "fixes.jsonl"
>>> _ = f.write_text(json.dumps({"event_id": "g1", "plate": "浙A12345"}) + "\\n{oops\\n")
>>> summary = ReplaySummary()
>>> [(o.key, o.line) for o in iter_replay(f, "trucks", summary=summary)]
[(b'\\xe6\\xb5\\x99A12345', 1), (None, 2)]
>>> summary.yielded, summary.bytes > 0
(2, True)
"""

from __future__ import annotations

import fnmatch
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from infra.errors import InfraError
from schemas.errors import ConfigError, ValidationFailed
from schemas.ingest import IngestLimits, decode_source, encode_record
from schemas.mapping import MappedRow, Mapping, MappingError, iter_mapped, shipped_mappings
from schemas.sources import SOURCE_SPECS
from schemas.validation.timeutil import DEFAULT_ZONE, to_utc

if TYPE_CHECKING:
    from config.settings import Settings

KEY_FIELDS: dict[str, tuple[str, ...]] = {
    **{name: spec.key_fields for name, spec in SOURCE_SPECS.items()},
    "dispositions": ("task_id",),
}
"""Source → record fields tried in order for the Kafka key (``SourceSpec.key_fields``; a
disposition is keyed by its task, README's topic map)."""

WireFormat = Literal["json", "avro"]

_ENCODE_LIMITS = IngestLimits(max_future_skew_seconds=10**9, max_event_age_days=100_000)
"""Avro needs a validated record to encode, but staleness is the worker's call, not ours."""


@dataclass(frozen=True)
class Outgoing:
    """One record ready to produce: its first line in the file, key, value, event time."""

    line: int
    key: bytes | None
    value: bytes
    event_time: datetime | None


@dataclass(frozen=True)
class Rejected:
    """A row that never left the file: where (line, column/field), why, what to fix."""

    line: int
    column: str
    reason: str
    message: str


@dataclass
class ReplaySummary:
    """What a replay did; :func:`iter_replay` fills the first four, the producer the rest."""

    rows: int = 0
    yielded: int = 0
    bytes: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    delivered: int = 0
    failed: int = 0
    last_error: str = ""


# ---------------------------------------------------------------- mapping and keys


def topic_for(settings: Settings, source: str) -> str:
    """The topic a source's records go to (dispositions included)."""
    topics = settings.topics.sources()
    if source in topics:
        return topics[source]
    if source == "dispositions":
        return settings.topics.dispositions
    raise ConfigError(f"unknown source {source!r}; expected one of {sorted(KEY_FIELDS)}")


def is_jsonl(path: Path) -> bool:
    """JSONL of ready records needs no mapping (``.jsonl``, ``.ndjson``, ``.json``)."""
    return path.suffix.lower() in (".jsonl", ".ndjson", ".json")


def resolve_mapping(path: Path, source: str, name: str | None) -> Mapping | None:
    """The mapping to read ``path`` with: the named one, none for JSONL, or the one shipped
    mapping whose dataset glob matches the file's name (so `replay data/x.csv.gz` just works)."""
    if source not in KEY_FIELDS:
        raise ConfigError(f"unknown source {source!r}; expected one of {sorted(KEY_FIELDS)}")
    if name is not None:
        from schemas.mapping import load_mapping

        mapping = load_mapping(name)
        if mapping.source != source:
            raise ConfigError(
                f"mapping {mapping.name} makes {mapping.source} records, not {source}"
            )
        return mapping
    if is_jsonl(path):
        return None
    found = [
        m
        for m in shipped_mappings().values()
        if m.source == source and m.file and fnmatch.fnmatch(path.name, Path(m.file).name)
    ]
    if len(found) == 1:
        return found[0]
    names = sorted(m.name for m in shipped_mappings().values() if m.source == source)
    raise ConfigError(f"{path.name} needs --mapping NAME (shipped for {source}: {names})")


def record_key(source: str, record: dict[str, Any]) -> bytes | None:
    """The Kafka key of a record: the first non-empty key field, UTF-8; None if it has none.

    >>> record_key("complaints", {"uscc": "", "event_id": "c-1"})
    b'c-1'
    """
    for name in KEY_FIELDS.get(source, ()):
        value = record.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip().encode("utf-8")
    return None


def _event_time(record: dict[str, Any], zone: str = DEFAULT_ZONE) -> datetime | None:
    try:
        return to_utc(record.get("event_time"), zone)
    except ValidationFailed:
        return None


# ---------------------------------------------------------------- rows → (key, value)


def iter_replay(
    path: str | Path,
    source: str,
    mapping: Mapping | None = None,
    *,
    limit: int | None = None,
    sort: bool = True,
    wire_format: WireFormat = "json",
    summary: ReplaySummary | None = None,
) -> Iterator[Outgoing]:
    """Yield what to produce for the first ``limit`` rows of ``path``; rejected rows go to
    ``summary.rejected`` instead. ``sort`` orders a mapped file by its ``sort_by`` column
    (the shared datasets are not all in time order); JSONL keeps the file's order."""
    path = Path(path)
    summary = summary if summary is not None else ReplaySummary()
    if mapping is None:
        items: Iterator[Outgoing | Rejected] = _raw_lines(path, source, limit, wire_format)
    else:
        items = _mapped(path, source, mapping, limit, sort, wire_format)
    for item in items:
        summary.rows += 1
        if isinstance(item, Rejected):
            summary.rejected.append(item)
            continue
        summary.yielded += 1
        summary.bytes += len(item.value)
        yield item


def _mapped(
    path: Path,
    source: str,
    mapping: Mapping,
    limit: int | None,
    sort: bool,
    wire_format: WireFormat,
) -> Iterator[Outgoing | Rejected]:
    for item in iter_mapped(mapping, path, limit=limit, sort=sort):
        if isinstance(item, MappingError):
            yield Rejected(item.line, item.column, MappingError.reason, item.message)
            continue
        yield _encode(source, item, wire_format)


def _encode(source: str, row: MappedRow, wire_format: WireFormat) -> Outgoing | Rejected:
    record = row.record
    value = json.dumps(record, ensure_ascii=False, allow_nan=False).encode("utf-8")
    if wire_format == "avro":
        encoded = _as_avro(source, value, row.line)
        if isinstance(encoded, Rejected):
            return encoded
        value = encoded
    return Outgoing(row.line, record_key(source, record), value, _event_time(record))


def _as_avro(source: str, json_value: bytes, line: int) -> bytes | Rejected:
    """Avro can only carry a record that fits the schema, so it is validated here first."""
    try:
        record = decode_source(source, json_value, limits=_ENCODE_LIMITS, now=datetime.now(UTC))
    except ValidationFailed as exc:
        return Rejected(line, exc.field, exc.reason, exc.message)
    return encode_record(record, "avro")


def _raw_lines(
    path: Path, source: str, limit: int | None, wire_format: WireFormat
) -> Iterator[Outgoing | Rejected]:
    """JSONL lines as they are: bytes unchanged, key taken from the line if it parses."""
    count = 0
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    with fh:
        for n, raw in enumerate(fh, start=1):
            body = raw.rstrip(b"\r\n")
            if not body.strip():
                continue
            if limit is not None and count >= limit:
                return
            count += 1
            obj = _loads(body)
            if wire_format == "avro":
                encoded = _as_avro(source, body, n)
                if isinstance(encoded, Rejected):
                    yield encoded
                    continue
                body = encoded
            key = record_key(source, obj) if obj is not None else None
            yield Outgoing(n, key, body, _event_time(obj) if obj is not None else None)


def _loads(body: bytes) -> dict[str, Any] | None:
    try:
        obj = json.loads(body)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def latest_event_time(path: str | Path, mapping: Mapping | None) -> datetime | None:
    """The newest event time in a file: the clock a historical export is judged against.

    Validating 2013 data against today's clock would call every record stale; against its own
    newest event, only records more than ``max_event_age_days`` older than the export are.
    """
    latest: datetime | None = None
    for item in iter_replay(path, mapping.source if mapping else "", mapping, sort=False):
        if item.event_time is not None and (latest is None or item.event_time > latest):
            latest = item.event_time
    return latest


@dataclass(frozen=True)
class Staleness:
    """How many records of a replay the worker will dead-letter as ``stale_event``."""

    stale: int
    total: int
    oldest: datetime | None
    horizon: datetime

    def message(self, max_age_days: int) -> str:
        """One line a person can act on (empty when nothing is stale)."""
        if not self.stale:
            return ""
        need = (datetime.now(UTC) - self.oldest).days + 1 if self.oldest else max_age_days
        return (
            f"the worker will dead-letter {self.stale} of {self.total} records as stale_event: "
            f"older than {self.horizon:%Y-%m-%d} (RISKLOOP_MAX_EVENT_AGE_DAYS={max_age_days} "
            f"before now); set RISKLOOP_MAX_EVENT_AGE_DAYS={need} on the worker to take them"
        )


def staleness(items: Iterable[Outgoing], now: datetime, max_age_days: int) -> Staleness:
    """What the worker's staleness check (``schemas.ingest``) will say of ``items`` at ``now``
    — told before a replay, not found afterwards in the dead-letter topic (a Chicago replay
    "rejected 0" while the worker refused all 2,000 records)."""
    horizon = now - timedelta(days=max_age_days)
    stale = total = 0
    oldest: datetime | None = None
    for item in items:
        total += 1
        if item.event_time is None:
            continue
        oldest = item.event_time if oldest is None else min(oldest, item.event_time)
        stale += item.event_time < horizon
    return Staleness(stale, total, oldest, horizon)


# ---------------------------------------------------------------- pacing


Clock = Callable[[], float]
Sleep = Callable[[float], None]


class Pacer:
    """When to send the next record: as fast as possible, at a fixed rate, or by event time.

    ``rate`` and ``event-time`` keep a schedule from the first send rather than sleeping a
    fixed gap each time, so slow sends are caught up and the average stays right. Events out
    of order (their time before the previous one) are sent at once.

    >>> t = [0.0]
    >>> p = Pacer("rate", rate=10, clock=lambda: t[0], sleep=lambda s: t.__setitem__(0, t[0] + s))
    >>> for _ in range(3):
    ...     p.wait(None)
    >>> round(t[0], 2)
    0.2
    """

    def __init__(
        self,
        mode: Literal["none", "rate", "event-time"],
        *,
        rate: float | None = None,
        speedup: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if mode == "rate" and (rate is None or rate <= 0):
            raise ConfigError(f"a rate must be a positive number of records per second ({rate})")
        if speedup <= 0:
            raise ConfigError(f"--speedup must be positive ({speedup})")
        self.mode, self.rate, self.speedup = mode, rate, speedup
        self._clock, self._sleep = clock, sleep
        self._start: float | None = None
        self._first_event: datetime | None = None
        self._sent = 0

    def wait(self, event_time: datetime | None) -> None:
        """Sleep until the next record is due."""
        now = self._clock()
        if self._start is None:
            self._start = now
        due = self._due(event_time)
        self._sent += 1
        if due is not None and due > now:
            self._sleep(due - now)

    def _due(self, event_time: datetime | None) -> float | None:
        assert self._start is not None
        if self.mode == "rate":
            assert self.rate is not None
            return self._start + self._sent / self.rate
        if self.mode == "event-time" and event_time is not None:
            if self._first_event is None:
                self._first_event = event_time
            offset = (event_time - self._first_event).total_seconds()
            return self._start + offset / self.speedup
        return None


# ---------------------------------------------------------------- Kafka


def require_topic(settings: Settings, topic: str) -> None:
    """One clear line (``InfraError``) if the broker is unreachable or the topic is missing,
    instead of a producer retrying in silence or auto-creating it with the wrong partitions."""
    from streams.admin import require_broker

    if topic not in require_broker(settings):
        raise InfraError(f"topic {topic} does not exist; create it with `riskloop topics create`")


def produce_replay(
    settings: Settings,
    topic: str,
    items: Iterable[Outgoing],
    summary: ReplaySummary,
    *,
    pacer: Pacer,
    on_item: Callable[[Outgoing], None] | None = None,
    flush_timeout: float = 60.0,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    """Produce ``items`` to ``topic``; counts deliveries into ``summary``.

    The broker and the topic are checked first (:func:`require_topic`). A record the
    producer or the broker refuses as too large is a rejected row (reason ``too_large``),
    not the end of the replay; and whatever happens, what was already queued is flushed
    before the replay ends, so an error never loses the records sent before it.
    ``headers`` go on every record (``streams.backfill.HEADERS`` for a backfill).
    """
    from streams.producer import make_producer

    require_topic(settings, topic)
    producer = make_producer(settings)
    try:
        for item in items:
            pacer.wait(item.event_time)
            _produce_one(producer, topic, item, summary, headers)
            producer.poll(0)
            if on_item is not None:
                on_item(item)
    finally:
        left = producer.flush(flush_timeout)
    if left or summary.failed:
        raise InfraError(
            f"{left + summary.failed} records not delivered to {topic}"
            + (f" ({summary.last_error})" if summary.last_error else "")
        )


def _too_large(line: int, size: int, err: Any) -> Rejected:
    return Rejected(line, "", "too_large", f"{size} bytes refused by Kafka: {err.str()}")


def _produce_one(
    producer: Any,
    topic: str,
    item: Outgoing,
    summary: ReplaySummary,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    """Queue one record; a local size refusal is recorded as a rejected row."""
    from confluent_kafka import KafkaError, KafkaException, Message

    too_large = (KafkaError.MSG_SIZE_TOO_LARGE,)  # local check and broker answer alike

    def delivered(err: KafkaError | None, _msg: Message) -> None:
        if err is None:
            summary.delivered += 1
        elif err.code() in too_large:  # the broker's limit is below the producer's
            summary.rejected.append(_too_large(item.line, len(item.value), err))
        else:
            summary.failed += 1
            summary.last_error = err.str()

    while True:
        try:
            extra = {"headers": headers} if headers else {}
            producer.produce(topic, key=item.key, value=item.value, on_delivery=delivered, **extra)
            return
        except BufferError:  # local queue full: let deliveries drain, then retry
            producer.poll(0.2)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if not isinstance(err, KafkaError) or err.code() not in too_large:
                raise
            summary.rejected.append(_too_large(item.line, len(item.value), err))
            return
