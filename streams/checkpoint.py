"""One checkpoint: state, outputs and offsets committed together, in this order.

Every ``commit_interval`` (and before partitions move) Faust commits the offsets of the events
its agents have finished. Just before, :meth:`Checkpoint.commit` runs, for every partition:

1. **Quiesce.** New events wait at the gate; the ones in flight finish. Now every value in the
   store is the effect of exactly the events whose offsets are *absorbed* (streams/state.py:
   an event's offset is absorbed when its handler returns, its changes undone if it failed).
2. **Snapshot.** Each dirty key is encoded once, however often it was written since the last
   checkpoint (a warning updated by 30 events costs one record, the event clock of a partition
   one record, not one per event), with the partition's absorbed offsets. The gate opens:
   events flow again while the rest runs.
3. **Outputs.** The producer is flushed (every message an absorbed event sent is acknowledged).
   The sink copies the absorbed events made, buffered in memory since the last checkpoint
   (streams/sink_buffer.py, taken at step 2 with the snapshot), go to the SQL/Redis sinks'
   outboxes in one transaction per sink; then the sinks are drained: the outboxes fsynced and
   flushed (bounded wait: a target that is away keeps its rows in its outbox, which it
   retries).
4. **Changelog.** The dirty values go to the partition of ``<app>-state-changelog`` (compacted),
   then one *marker* record (key ``~checkpoint``) with the absorbed offsets; flushed.
5. **Offsets.** Only then does Faust commit the consumer offsets (never beyond the absorbed
   ones: it commits events its agents finished, all of which were absorbed at step 1).

A crash anywhere in this order loses nothing and doubles nothing:

* before step 4 completes, the changelog ends with records after the last marker (a *torn*
  checkpoint). Restoring reads the changelog up to the last marker, and marks the torn keys
  dirty with their value at that marker, so the next checkpoint writes them back over the
  torn records before its own marker. The events after the last marker's offsets are
  redelivered and applied to exactly the state they first met; their outputs go out again
  (every consumer of ours is idempotent by id: task ids, alert ids, event ids).
* between steps 4 and 5, the committed offsets are behind the marker's. A redelivered event
  whose offset is below the partition's absorbed offset is skipped (its state is in the store,
  its outputs were flushed at step 3): ``riskloop_redelivered_skipped_total``.

A failed changelog write (broker away, disk full on the broker) raises: the dirty keys stay
dirty, the offsets are not committed, and the next checkpoint tries again — nothing is acked
that is not stored.

The sink copies are stored before the marker, never after: a marker claims its events, a
redelivered event below it is skipped, so a copy not yet durable when the marker is written
would be lost by a crash between the two. A sink outbox that cannot take them (the local disk
is full, :class:`~sinks.errors.OutboxFull`) fails the checkpoint the same way: no marker, no
offsets, the copies put back in front of the buffer, and until a checkpoint stores them the
gate lets no new event in (``riskloop_storage_stalled{agent="checkpoint"}`` = 1), so the buffer
holds at most one interval's events while the disk is full. With no event acked Faust would
not commit (and so checkpoint) again — it counts a failed commit's acks as done — so the
checkpoint retries itself, waits doubling from ``stall_retry`` to 30 s, and the first
checkpoint that finds room opens the gate. A partition given away takes its buffered copies with it (:meth:`drop`):
its next owner redoes those events.

So there are no before-value journals: the only bookkeeping is the absorbed offsets per input
partition, written once per checkpoint. References: Quix Streams' ``Checkpoint.commit()``
(flush producer, then changelogs, then offsets) and Kafka Streams' record cache (one changelog
record per key per commit).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from confluent_kafka import Consumer, TopicPartition

from sinks.errors import storage_full
from streams.logs import get_logger
from streams.packing import (  # noqa: F401 (the codec's names, as they were here)
    MAX_VALUE,
    PACK_FROM,
    PACKED,
    Cold,
    cold,
    decode,
    encode,
    encode_sized,
    inflate,
)
from streams.retries import Retries
from streams.sink_buffer import SinkBuffer
from streams.state import EVICTABLE, PartitionState, Store, current_scope

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

log = get_logger(__name__)

MARKER = "~checkpoint"
MODEL_PREFIX = b"~model"
"""Keys of the models' records (streams/model_state.py): signed pickles, kept as raw bytes,
never JSON-decoded here and never unpickled here."""
_SEP = "/"


def changelog_topic(app_id: str) -> str:
    """The one compacted topic every partition's state is written to."""
    return f"{app_id}-state-changelog"


def record_key(table: str, key: str) -> bytes:
    """``table/key``: a table name has no slash, a key may (``pack/rule``).

    >>> record_key("precision", "pack/rule"), split_key(b"precision/pack/rule")
    (b'precision/pack/rule', ('precision', 'pack/rule'))
    """
    return f"{table}{_SEP}{key}".encode()


def split_key(raw: bytes) -> tuple[str, str]:
    """``(table, key)`` of a changelog record key (:func:`record_key` reversed); ``ValueError``
    for anything else, the checkpoint's markers included, so no reader takes one for state."""
    table, sep, key = raw.decode().partition(_SEP)
    if not sep or not table:
        raise ValueError(f"not a state key: {raw[:80]!r}")
    return table, key


@dataclass
class Restored:
    """What reading one partition's changelog found."""

    state: PartitionState
    records: int = 0
    torn: int = 0  # keys written after the last marker (a checkpoint a crash cut short)
    bad: int = 0  # records that are not ours (skipped, logged)


def replay_changelog(records: list[tuple[bytes, bytes | None]]) -> Restored:
    """A partition's state from its changelog records, oldest first (pure; see the module
    docstring for what a torn checkpoint is and why its keys come back dirty).

    >>> r = replay_changelog([(b"t/a", b"1"), (b"~checkpoint", b'{"absorbed": {"s:0": 5}}'),
    ...                       (b"t/a", b"2"), (b"t/b", b"3")])
    >>> r.state.tables, r.state.absorbed, sorted(r.state.dirty), r.torn
    ({'t': {'a': 1}}, {'s:0': 5}, [('t', 'a'), ('t', 'b')], 2)
    """
    state = PartitionState()
    pending: dict[tuple[str, str], Any] = {}
    pending_models: dict[bytes, bytes | None] = {}
    out = Restored(state)
    for key, value in records:
        out.records += 1
        if key.startswith(MODEL_PREFIX):
            pending_models[key] = value
            continue
        if key == MARKER.encode():
            try:
                marker = orjson.loads(value or b"{}")
                absorbed = {str(k): int(v) for k, v in marker["absorbed"].items()}
            except (ValueError, KeyError, TypeError, AttributeError):
                out.bad += 1
                continue
            for (table, k), v in pending.items():
                if v is None:
                    state.table(table).pop(k, None)
                else:
                    state.table(table)[k] = v
            pending.clear()
            state.model_records.update(pending_models)
            pending_models.clear()
            state.absorbed = absorbed
            continue
        try:
            where = split_key(key)
            pending[where] = None if value is None else _restored(where[0], value)
        except (ValueError, UnicodeDecodeError):
            out.bad += 1
    out.torn = len(pending) + len(pending_models)
    state.dirty = set(pending)  # written back with their marker-time values (or deleted)
    for key in pending_models:  # likewise the models' records (None: none at the marker)
        state.model_records.setdefault(key, None)
    state.models_rewrite = bool(pending_models)
    state.model_torn = set(pending_models)
    return out


def _restored(table: str, data: bytes) -> Any:
    """A changelog value as the store holds it: the bytes, checked, for a table whose values
    may be cold (decoded when first used: a restore does not build every entity's objects at
    once), else decoded."""
    return cold(data) if table in EVICTABLE else decode(data)


def read_partition(
    connect: Mapping[str, Any], topic: str, partition: int
) -> list[tuple[bytes, bytes | None]]:
    """Every record of one changelog partition, oldest first (blocking: run it in a thread);
    ``connect``: the broker and credentials (``streams.kafka_clients.confluent``)."""
    c = Consumer(
        {
            **connect,
            "group.id": f"riskloop-restore-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    try:
        tp = TopicPartition(topic, partition)
        low, high = c.get_watermark_offsets(tp, timeout=30)
        if high <= low:
            return []
        c.assign([TopicPartition(topic, partition, low)])
        out: list[tuple[bytes, bytes | None]] = []
        idle = 0
        while True:
            msg = c.poll(1.0)
            if msg is None:
                idle += 1
                if idle > 30:
                    raise TimeoutError(f"{topic}[{partition}] stopped at {len(out)} records")
                continue
            idle = 0
            if msg.error():
                continue
            out.append((msg.key() or b"", msg.value()))
            if (msg.offset() or 0) + 1 >= high:
                return out
    finally:
        c.close()


class Send(Protocol):
    """Queue one changelog record (streams/producer.py ``WorkerProducer.send``); whether the
    broker took it is known at the next flush."""

    def __call__(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None
    ) -> Awaitable[None]:
        """Queue the record; raises only for one the producer refuses at once."""
        ...


@dataclass
class Checkpoint:
    """The gate every event passes, and the commit order of the module docstring."""

    store: Store
    topic: str
    send: Send  # (topic, key, value, partition): queued
    flush: Callable[[], Awaitable[None]]  # every record sent acknowledged, else raises
    drain: Callable[[], Awaitable[bool]] | None = None  # the sinks (streams/worker_sinks.py)
    # stores the buffered sink copies in the outboxes (``WorkerSinks.add``); None: none kept
    sinks: Callable[[list[Any]], Awaitable[None]] | None = None
    on_stall: Callable[[bool], None] | None = None  # the disk is full (True) / has room again
    stall_retry: float = 0.5  # s before the first checkpoint retried on a full disk
    on_checkpoint: Callable[[int, int, float], None] | None = None  # records, bytes, seconds
    # the records of a partition's models when they changed (streams/model_state.py)
    models: Callable[[PartitionState], list[tuple[bytes, bytes | None]]] | None = None
    worker: str = ""
    # changed state (JSON bytes, Store.dirty_weight) past which the checkpoint is brought
    # forward, before the next event goes in; 0: only Faust's commit timer checkpoints
    dirty_bytes: int = 0
    early: int = 0  # checkpoints brought forward so far
    _early_ok: bool = True  # False from a failed early checkpoint until one succeeds
    seq: int = 0
    cooled: int = 0  # values made cold so far (streams/hot.py)
    buffer: SinkBuffer[Any] = field(default_factory=SinkBuffer)
    _open: asyncio.Event = field(default_factory=asyncio.Event)
    _room: asyncio.Event = field(default_factory=asyncio.Event)  # cleared: the disk is full
    _retry: asyncio.Task[None] | None = None
    _idle: asyncio.Event = field(default_factory=asyncio.Event)
    _inflight: int = 0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _marked: dict[int, dict[str, int]] = field(default_factory=dict)
    _ready: dict[int, asyncio.Event] = field(default_factory=dict)
    _restoring: set[int] = field(default_factory=set)  # assigned here, restore not yet done

    def __post_init__(self) -> None:
        self._open.set()
        self._room.set()
        self._idle.set()

    # -- partitions ----------------------------------------------------------------------
    def expect(self, partition: int) -> asyncio.Event:
        """The event set once ``partition`` is restored (agents wait for it)."""
        ready = self._ready.get(partition)
        if ready is None:
            ready = self._ready[partition] = asyncio.Event()
        return ready

    def restoring(self, partition: int) -> None:
        """``partition`` is assigned here and its restore begins: its agents wait until
        :meth:`take`, and ``/ready`` says it is not ready meanwhile (streams/health.py)."""
        self.expect(partition).clear()
        self._restoring.add(partition)

    @property
    def unrestored(self) -> list[int]:
        """The partitions assigned here whose state is not restored yet."""
        return sorted(self._restoring)

    def held(self, partition: int) -> bool:
        """True if ``partition`` is restored and held here: an assignment that keeps it must not
        restore it again over the state it has absorbed since."""
        return partition in self.store.partitions and self.expect(partition).is_set()

    def take(self, partition: int, restored: Restored) -> None:
        """Hold ``restored`` as ``partition``'s state and let its waiting agents go; its offsets
        count as marked already, so a checkpoint with nothing new there writes no marker."""
        self.store.hold(partition, restored.state)
        self._marked[partition] = dict(restored.state.absorbed)
        self._restoring.discard(partition)
        self.expect(partition).set()

    def start_empty(self, partitions: int) -> None:
        """Hold ``partitions`` with nothing in them (agents under test, with no broker)."""
        for partition in range(partitions):
            self.take(partition, Restored(PartitionState()))

    def drop(self, partition: int) -> None:
        """Let ``partition`` go (revoked, or not assigned again): its state here is stale as soon
        as another worker may take it, and its agents must wait for a new restore."""
        self.store.release(partition)
        self._marked.pop(partition, None)
        self._restoring.discard(partition)
        self.expect(partition).clear()
        self.buffer.drop(partition)
        if not self.buffer:  # nothing left waiting for room: no reason to hold events back
            self._resume()

    # -- events --------------------------------------------------------------------------
    @asynccontextmanager
    async def event(self, mark: str, partition: int, offset: int) -> AsyncIterator[bool]:
        """Handle one event inside: yields False for an event this partition absorbed before
        (skip it), True otherwise. Leaving normally absorbs its offset; leaving by an
        exception undoes its changes first (the caller dead-letters or retries it). An event
        absorbed leaves its sink copies in :attr:`buffer` for the next checkpoint."""
        await self.expect(partition).wait()
        if offset < self.store.absorbed(mark, partition):
            yield False
            return
        if self.over_budget():
            await self._bring_forward()
        while not (self._open.is_set() and self._room.is_set()):
            await self._room.wait()
            await self._open.wait()
        self._inflight += 1
        self._idle.clear()
        token = self.store.begin(partition, mark, offset)
        scope = current_scope()
        try:
            yield True
        except BaseException:
            self.store.undo()
            self.store.abandon(token)
            raise
        else:
            self.store.finish(token)
            if scope is not None and scope.sinks and partition in self.store.partitions:
                self.buffer.absorb(partition, scope.sinks)
        finally:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.set()

    def undo(self) -> int:
        """Roll back the current event's changes (before a retry or a dead letter)."""
        return self.store.undo()

    # -- the budget of changed state -----------------------------------------------------
    def over_budget(self) -> bool:
        """Whether the state changed since the last checkpoint has reached :attr:`dirty_bytes`."""
        return (
            bool(self.dirty_bytes)
            and self._early_ok
            and self._room.is_set()  # a full disk: the stall's own retries checkpoint
            and self.store.dirty_weight() >= self.dirty_bytes
        )

    def room(self, table: str) -> int | None:
        """How many more changed values of ``table`` fit the budget (at least one: an event
        must make progress); None when there is no budget.

        >>> from streams.state import Store
        >>> Checkpoint(Store(), "t", None, None, dirty_bytes=4096).room("warnings")  # 1 KiB each
        4
        """
        if not self.dirty_bytes:
            return None
        left = self.dirty_bytes - self.store.dirty_weight()
        return max(1, left // max(1, self.store.sizes.of(table)))

    async def _bring_forward(self) -> None:
        """Checkpoint now, before one more event adds to what waits for it.

        Why: a value changed since the last checkpoint stays decoded (and its event's sink
        copies stay buffered) until a checkpoint encodes it, and a checkpoint waits for
        ``commit_interval`` and then for every event in flight. On the 100,000-entity bench
        clock ticks raised ~1,000 new warnings an event, several events a checkpoint (the
        checkpoint itself took 2–7 s), and Python's heap grew ~56 MiB within 6 s; the arenas
        it took stayed with the process (a sampler in the worker, 2026-12-06). Kafka Streams
        bounds its record cache the same way (``cache.max.bytes.buffering``: past it, it
        flushes). Only the state is written early: Faust commits the offsets at its next commit,
        which the order of the module docstring allows (a crash in between redelivers events
        the marker already holds; they are skipped). Events of every agent wait meanwhile, as
        they do at any checkpoint. A checkpoint that fails here is logged and the event goes
        in; none is brought forward again until one of Faust's commits succeeds (a broker that
        is away must not make every event wait for a checkpoint that cannot be written)."""
        async with self._lock:
            if not self.over_budget():
                return  # another event's wait brought it forward already
            self.early += 1
            try:
                await self._commit()
            except Exception as exc:
                self._early_ok = False
                log.warning(
                    "checkpoint brought forward failed",
                    error=f"{type(exc).__name__}: {exc}",
                )

    # -- the commit ----------------------------------------------------------------------
    async def commit(self) -> int:
        """Steps 1–4 of the module docstring; returns how many state records were written.
        Raises when the outputs or the changelog could not be stored (the offsets must not be
        committed): the snapshot's keys are dirty again, and the sink copies not stored are
        back in the buffer."""
        async with self._lock:
            return await self._commit()

    async def _commit(self) -> int:
        """:meth:`commit`, the lock held."""
        started = time.perf_counter()
        self._open.clear()
        try:
            await self._idle.wait()
            snapshot = self._snapshot()
            rows = self.buffer.take()  # exactly the absorbed events' copies
        finally:
            self._open.set()
        stored = False
        try:
            await self.flush()
            await self._store(rows)
            stored = True
            if self.drain is not None:
                await self.drain()
            written, size = await self._write(snapshot)
        except BaseException:
            self._redirty(snapshot)
            if not stored:
                self.buffer.restore(rows, self.store.partitions)
            raise
        self._early_ok = True
        if self.on_checkpoint is not None:
            self.on_checkpoint(written, size, time.perf_counter() - started)
        return written

    async def _store(self, rows: list[tuple[int, Any]]) -> None:
        """Step 3: the buffered sink copies into the outboxes, all at once. A full disk stops
        the gate until a checkpoint finds room (module docstring); anything else just fails
        this checkpoint."""
        if not rows or self.sinks is None:
            return
        try:
            await self.sinks([record for _, record in rows])
        except Exception as exc:
            if storage_full(exc) and self._room.is_set():
                self._stall(exc, len(rows))
            raise
        self._resume()

    def _stall(self, exc: Exception, records: int) -> None:
        self._room.clear()
        if self.on_stall is not None:
            self.on_stall(True)
        log.error(
            "local storage full; the sinks' copies wait in memory, intake paused",
            records=records,
            error=f"{type(exc).__name__}: {exc}",
        )
        self._retry = asyncio.ensure_future(self._until_room(exc))

    async def _until_room(self, exc: Exception) -> None:
        """Checkpoint again, with the worker's doubling waits (streams/retries.py), until one
        stores the copies (or nothing is left to store): while intake is paused nothing else
        would."""
        retries = Retries(first=self.stall_retry, cap=max(30.0, self.stall_retry))
        while not self._room.is_set():
            await retries.wait(log.warning, "local storage full; checkpoint retried", exc)
            if self._room.is_set():
                return
            try:
                await self.commit()
            except Exception as failed:  # any failure: tried again after the next wait
                exc = failed

    def _resume(self) -> None:
        if self._room.is_set():
            return
        self._room.set()
        if self.on_stall is not None:
            self.on_stall(False)
        log.info("local storage writable again; intake resumed")

    def _snapshot(self) -> dict[int, tuple[list[tuple[bytes, bytes | None]], dict[str, int]]]:
        out = {}
        for partition, state in list(self.store.partitions.items()):
            if not self.expect(partition).is_set():
                continue  # still restoring: nothing of it has been changed here
            models = self.models(state) if self.models is not None else []
            if not state.dirty and not models and state.absorbed == self._marked.get(partition):
                continue
            records = models
            for table, key in sorted(state.dirty):
                value = self.store.stored(partition, table, key)
                if value is None:
                    records.append((record_key(table, key), None))
                    continue
                sized = encode_sized(value)
                records.append((record_key(table, key), sized.data))
                self.store.encoded(partition, table, key, sized)
            state.dirty = set()
            state.dirty_weight = 0
            out[partition] = (records, dict(state.absorbed))
        # with no event in flight and every changed value just encoded, the least recently
        # used go cold as those bytes (streams/hot.py)
        self.cooled += self.store.evict()
        return out

    async def _write(
        self, snapshot: Mapping[int, tuple[list[tuple[bytes, bytes | None]], dict[str, int]]]
    ) -> tuple[int, int]:
        if not snapshot:
            return 0, 0
        self.seq += 1
        count = size = 0
        for partition, (records, absorbed) in snapshot.items():
            for key, value in records:
                await self.send(self.topic, key, value, partition)
                count += 1
                size += len(key) + len(value or b"")
            marker = orjson.dumps(
                {"absorbed": absorbed, "seq": self.seq, "worker": self.worker, "at": time.time()}
            )
            await self.send(self.topic, MARKER.encode(), marker, partition)
        await self.flush()  # raises unless the broker took every record: nothing is committed
        for partition, (_, absorbed) in snapshot.items():
            self._marked[partition] = absorbed
        return count, size

    def _redirty(
        self, snapshot: Mapping[int, tuple[list[tuple[bytes, bytes | None]], dict[str, int]]]
    ) -> None:
        for partition, (records, _) in snapshot.items():
            state = self.store.partitions.get(partition)
            if state is not None:
                keys = [split_key(k) for k, _ in records if not k.startswith(MODEL_PREFIX)]
                state.dirty_weight += sum(
                    self.store.sizes.of(table)
                    for table, key in keys
                    if (table, key) not in state.dirty
                )
                state.dirty.update(keys)
                if any(key.startswith(MODEL_PREFIX) for key, _ in records):
                    state.models_saved = -1  # written again, whole, at the next checkpoint
                    state.models_rewrite = True
