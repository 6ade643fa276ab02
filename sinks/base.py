"""The one small base every sink shares: start, add, flush, stop — batched, retried, never lossy.

The order that makes delivery at-least-once (and, with idempotent writes, effectively once):

1. ``add(record)`` / ``add_many`` / ``add_dumped`` append the records to the durable
   :class:`~sinks.outbox.Outbox` in one transaction and only then return. Returning is the
   acknowledgement: the caller may now claim the events that made them, because the records
   survive a worker restart. The worker calls it once per checkpoint, with the copies of
   every event absorbed since the last one, before the changelog marker and the offsets
   (streams/checkpoint.py, step 3): one transaction per sink and checkpoint, not per event.
2. The record also joins a bounded in-memory queue (the head of the outbox). Beyond
   ``memory_limit`` records only the outbox holds them ("spilled"); they are read back in
   order as the queue drains, so memory stays bounded however long the target is away.
3. A batch (``batch_size`` records, or whatever arrived within ``max_delay`` seconds) is
   written to the target in one transaction / one round-trip, as *upserts by id* (an append-
   only row keyed by its event id is an insert-or-ignore).
4. Only after the target confirms, the batch's rows are deleted from the outbox (``ack``).
   A crash between 3 and 4 replays the batch on start; step 3 being idempotent makes that
   harmless. A failed write keeps the batch and is retried after an exponential, jittered
   backoff (``sink_retries`` counts them, ``sink_backlog`` shows what is held).
5. ``start()`` replays whatever the outbox holds, oldest first, before anything newer: per
   sink, the target sees records in the order they were accepted.

Two things keep a flush from holding up the checkpoint that waits for it (streams/worker_sinks.py,
``drain``). A flush writes what was held when it was called, never what arrives while it writes:
records arriving while it wrote (when agents still added per event) made a flush that chased
them run as long as the stream did (the bench's commits took 4–7 s, the drain hitting its 5 s bound). And the target is made
ready in the background as soon as the sink starts (``_prepare_target``: the SQL schema
migrated, the Redis script loaded, the connections opened), not inside the first checkpoint,
which used to wait ~2.5 s for it (bench/RESULTS.md, 2026-12-03 "sinks").

Local failures are not the target's: a full disk makes ``add`` raise
:class:`~sinks.errors.OutboxFull` (nothing accepted; the worker's checkpoint fails, keeps the
records in memory and pauses intake until it can store them) and makes the
flusher keep its batch and retry with backoff (a batch written but not trimmed from the outbox is
written again: harmless, see 3). An outbox file that is not a database any more is moved aside
at ``start()`` and a fresh one is used (``riskloop_store_rebuilt_total{store="outbox"}``): a
worker must not crash-loop on a file it cannot read.

A sink whose target can refuse one record for good (the SQL sink: a value too long for its
column) sets that record aside where an operator can fetch it (``rejected_records``), logs and
counts it (``sink_rejected``), and writes the rest of the batch: one bad record never blocks
the good ones. Anything else ``_write`` raises keeps the whole batch, retried with backoff; that
shows as a growing ``sink_backlog`` and ``sink_retries``, and is what the alert rules watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections import deque
from itertools import islice, takewhile
from typing import TYPE_CHECKING, ClassVar, Protocol, Self, TypeVar

from sinks.backoff import Backoff
from sinks.errors import (
    OutboxCorrupt,
    OutboxError,
    OutboxFull,
    SinkClosed,
    SinkWriteFailed,
    UnsupportedRecord,
)
from sinks.outbox import Durability, Outbox, quarantine

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterable, Sequence
    from pathlib import Path

    from prometheus_client import Counter, Gauge
    from pydantic import BaseModel

T = TypeVar("T")


def last_versions(records: Iterable[T], key: Callable[[T], Hashable]) -> list[T]:
    """The last record of each ``key``, in the order of those last ones: what a target that
    upserts by ``key`` holds after taking ``records`` one by one.

    >>> last_versions([("a", 1), ("b", 1), ("a", 2)], key=lambda r: r[0])
    [('b', 1), ('a', 2)]
    """
    latest: dict[Hashable, T] = {}
    for record in records:
        k = key(record)
        latest.pop(k, None)  # re-insert: dict order = order of the last version
        latest[k] = record
    return list(latest.values())


class SinkMetrics(Protocol):
    """What a sink counts, by name: the worker's ``streams.metrics.Metrics`` has these.

    A protocol, so the I/O layer depends on nothing above it (the wiring passes its metrics in;
    a tool or a test may pass none).
    """

    sink_backlog: Gauge
    sink_retries: Counter
    sink_rejected: Counter
    store_rebuilt: Counter


log = logging.getLogger(__name__)


class Sink(ABC):
    """Base of the sinks. Subclasses set ``record_types`` and implement ``_write``.

    ``name`` labels the metrics and names the outbox file. Time-based flushing runs in a
    background task created by ``start()``; ``flush()`` may also be called at any time (it
    makes one pass and raises :class:`SinkWriteFailed` if the target is away).
    """

    record_types: ClassVar[tuple[type[BaseModel], ...]] = ()

    def __init__(
        self,
        name: str,
        outbox_path: Path,
        *,
        batch_size: int = 500,
        max_delay: float = 1.0,
        memory_limit: int = 10_000,
        backoff: Backoff | None = None,
        metrics: SinkMetrics | None = None,
        durability: Durability = "FULL",
    ) -> None:
        if batch_size < 1 or memory_limit < batch_size or max_delay <= 0:
            raise ValueError("need batch_size >= 1, memory_limit >= batch_size, max_delay > 0")
        self.name = name
        self.batch_size = batch_size
        self.max_delay = max_delay
        self.memory_limit = memory_limit
        self.backoff = backoff or Backoff()
        self._metrics = metrics
        # the labelled child, looked up once: ``labels(sink=...)`` costs ~3.5 µs against
        # ~0.7 µs for the child's ``set``, and the backlog is published on every ``add``
        self._backlog_gauge = None if metrics is None else metrics.sink_backlog.labels(sink=name)
        self._outbox_path = outbox_path
        self._durability: Durability = durability
        self._types = {t.__name__: t for t in self.record_types}
        self._outbox: Outbox | None = None
        self._queue: deque[tuple[int, BaseModel]] = deque()
        self._last_loaded = 0  # highest seq ever put in the queue
        self._accepted = 0  # highest seq ever accepted (a flush writes up to here)
        self._prepared = False  # the target took a prepare or a write
        self._spilled = False  # the outbox holds records the queue does not
        self._backlog = 0  # records accepted and not yet written (= outbox rows)
        self._lock = asyncio.Lock()
        self._arrived = asyncio.Event()
        self._full = asyncio.Event()
        self._stopping = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ subclass hooks

    @abstractmethod
    async def _write(self, batch: Sequence[BaseModel]) -> None:
        """Write ``batch`` (in order) to the target, idempotently, all or nothing."""

    def latest(self, records: Sequence[BaseModel]) -> list[BaseModel]:
        """``records`` without the versions the target would overwrite anyway: what the worker
        journals (:meth:`add_dumped`) and writes. This default keeps them all; a sink whose
        target keeps only the last version of a key (an upsert) keeps only that, in the order
        of the last versions, so the target ends as if it had taken every one in turn.

        Why: a warning changes on every hit and the checkpoint hands the sinks every version
        since the last one; dumping, journalling and trimming the ones a later version in the
        same hand-over replaces was work on the worker's one busy thread (issue #16)."""
        return list(records)

    async def _prepare_target(self) -> None:
        """Make the target ready for writes (schema, scripts, connections): run once in the
        background when the sink starts, so the first checkpoint does not wait for it. May
        raise: the first write then prepares what is still missing itself."""
        return

    async def _close_target(self) -> None:
        """Release connections to the target (after the last flush attempt)."""
        return

    # ------------------------------------------------------------------ public API

    @property
    def backlog(self) -> int:
        """Records accepted and not yet confirmed by the target."""
        return self._backlog

    async def start(self) -> None:
        """Open the outbox, queue what it still holds (replay, in order), start the flusher.

        Never waits for the target: a worker must start while PostgreSQL or Redis is away.
        The flusher prepares it in the background (``_prepare_target``).
        """
        if self._outbox is not None:
            return
        self._outbox = self._open_outbox()
        try:
            self._backlog = self._outbox.count()
            self._accepted = self._outbox.last_seq()
            self._spilled = self._backlog > 0
            self._refill()
        except BaseException:  # started all or not at all: a retry opens it again
            self._outbox.close()
            self._outbox = None
            self._queue.clear()
            self._last_loaded = 0
            raise
        self._publish_backlog()
        if self._backlog:
            log.info("sink %s replays %d records from its outbox", self.name, self._backlog)
            self._arrived.set()
            self._full.set()  # a replay is due now, not after max_delay
        self._stopping.clear()
        self._flusher = asyncio.create_task(self._run(), name=f"sink-{self.name}")

    async def add(self, record: BaseModel) -> None:
        """Accept one record: durable in the outbox when this returns."""
        await self.add_many([record])

    async def add_many(self, records: Iterable[BaseModel]) -> None:
        """Accept records in one outbox transaction (cheaper than one ``add`` each)."""
        await self.add_dumped([(r, r.model_dump_json()) for r in records])

    async def add_dumped(self, dumped: Sequence[tuple[BaseModel, str]]) -> None:
        """:meth:`add_many` of records already dumped to JSON (``model_dump_json``): the
        worker hands the same records to two sinks and dumps each once."""
        outbox = self._require_outbox()
        items = [record for record, _ in dumped]
        for record in items:
            if type(record).__name__ not in self._types:
                raise UnsupportedRecord(
                    f"sink {self.name} stores {sorted(self._types)}, not {type(record).__name__}"
                )
        seqs = outbox.append_many((type(r).__name__, payload) for r, payload in dumped)
        for seq, record in zip(seqs, items, strict=True):
            if not self._spilled and len(self._queue) < self.memory_limit:
                self._queue.append((seq, record))
                self._last_loaded = seq
            else:
                self._spilled = True
        if seqs:
            self._accepted = seqs[-1]
        self._backlog += len(items)
        self._publish_backlog()
        if items:
            self._arrived.set()
        if self._backlog >= self.batch_size:
            self._full.set()

    def sync(self) -> None:
        """Everything accepted so far on disk for good (:meth:`Outbox.sync`); a no-op for an
        outbox that syncs every append (``durability="FULL"``)."""
        if self._durability != "FULL" and self._outbox is not None:
            self._outbox.sync()

    async def flush(self) -> int:
        """Write everything held when called, batch by batch; the number written.

        Records accepted while it writes wait for the next flush: a flush that chased them
        would last as long as the agents keep adding (see the module docstring). Raises
        :class:`SinkWriteFailed` at the first batch the target refuses; that batch and all
        after it stay held.
        """
        outbox = self._require_outbox()
        upto = self._accepted
        written = 0
        async with self._lock:
            while True:
                self._refill()
                if not self._queue or self._queue[0][0] > upto:
                    return written
                batch = list(
                    takewhile(lambda item: item[0] <= upto, islice(self._queue, self.batch_size))
                )
                try:
                    await self._write([record for _, record in batch])
                except SinkWriteFailed:
                    raise
                except Exception as exc:
                    raise SinkWriteFailed(
                        f"sink {self.name}: writing {len(batch)} records failed "
                        f"({type(exc).__name__}: {exc}); they are kept and retried"
                    ) from exc
                self._prepared = True
                outbox.ack(batch[-1][0])
                for _ in batch:
                    self._queue.popleft()
                self._backlog -= len(batch)
                written += len(batch)
                self._publish_backlog()

    async def stop(self) -> None:
        """Stop the flusher, try one last flush, close. What is not written stays in the outbox."""
        if self._outbox is None:
            return
        self._stopping.set()
        self._arrived.set()
        self._full.set()
        if self._flusher is not None:
            # Cooperative, never cancelled mid-write: a write abandoned in a thread could
            # commit after a newer one and put an older version of a row back.
            await self._flusher
            self._flusher = None
        try:
            await self.flush()
        except (SinkWriteFailed, OutboxError) as exc:
            log.warning(
                "sink %s stops with %d records in its outbox: %s", self.name, self._backlog, exc
            )
        await self._close_target()
        self._outbox.close()
        self._outbox = None
        self._queue.clear()
        self._last_loaded = 0
        self._accepted = 0

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ internals

    async def _run(self) -> None:
        """Flush when a batch is full or ``max_delay`` passed; back off while anything fails.

        Nothing may end this loop but ``stop()``: a flusher that died would leave its records
        in the outbox until the next restart. A target that is away, a full local disk (the
        batch was written but could not be trimmed from the outbox: it stays queued and is
        written again) and anything unexpected all keep the batch and retry with backoff.
        """
        await self._prepare()
        attempt = 0
        while not self._stopping.is_set():
            await self._due()
            if self._stopping.is_set():
                return
            try:
                await self.flush()
                attempt = 0
                continue
            except SinkWriteFailed as exc:
                failure = str(exc)
            except OutboxFull as exc:
                failure = f"sink {self.name}: local disk full, the batch is kept ({exc})"
            except Exception as exc:
                log.exception("sink %s: flush failed unexpectedly", self.name)
                failure = f"sink {self.name}: the batch is kept ({type(exc).__name__})"
            delay = self.backoff.delay(attempt)
            attempt += 1
            if self._metrics is not None:
                self._metrics.sink_retries.labels(sink=self.name).inc()
            log.warning("%s; retry %d in %.2f s", failure, attempt, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def _prepare(self) -> None:
        """One attempt at ``_prepare_target``, holding the flush lock so that a flush waits
        for it rather than races it (two schema migrations at once). A target that is away is
        no error here: the writes retry with backoff and prepare it then."""
        try:
            async with self._lock:
                if not self._prepared:  # a flush that came first prepared it already
                    await self._prepare_target()
                    self._prepared = True
        except Exception as exc:
            log.info(
                "sink %s: target not ready at start (%s: %s); the first write prepares it",
                self.name,
                type(exc).__name__,
                exc,
            )

    async def _due(self) -> None:
        """Wait until something is held, then until the batch fills or ``max_delay`` passes."""
        while not self._backlog and not self._stopping.is_set():
            self._arrived.clear()
            await self._arrived.wait()
        if self._backlog < self.batch_size and not self._stopping.is_set():
            self._full.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self.max_delay)

    def _refill(self) -> None:
        """Top the queue up from the outbox while records are spilled (keeps seq order)."""
        if not self._spilled or len(self._queue) >= self.batch_size:
            return
        room = self.memory_limit - len(self._queue)
        rows = self._require_outbox().read(after=self._last_loaded, limit=room)
        for row in rows:
            self._queue.append((row.seq, self._decode(row.kind, row.payload)))
            self._last_loaded = row.seq
        if len(rows) < room:
            self._spilled = False

    def _decode(self, kind: str, payload: str) -> BaseModel:
        cls = self._types.get(kind)
        if cls is None:
            raise OutboxError(
                f"sink {self.name}: outbox row of type {kind!r} this version cannot read; "
                f"run the release that wrote it until its outbox is empty"
            )
        return cls.model_validate_json(payload)

    def _open_outbox(self) -> Outbox:
        """The outbox; one that is corrupt is moved aside (and counted) for a fresh one."""
        try:
            return Outbox(self._outbox_path, self._durability)
        except OutboxCorrupt as exc:
            moved = quarantine(self._outbox_path)
            log.error(
                "sink %s: outbox %s is corrupt (%s); moved aside to %s, starting with an empty "
                "one. Records it held that had not reached the target are lost from this "
                "worker (README, 'When a worker dies').",
                self.name,
                self._outbox_path,
                exc,
                moved,
            )
            if self._metrics is not None:
                self._metrics.store_rebuilt.labels(store="outbox").inc()
            return Outbox(self._outbox_path, self._durability)

    def _require_outbox(self) -> Outbox:
        if self._outbox is None:
            raise SinkClosed(f"sink {self.name} is not started; call `await sink.start()`")
        return self._outbox

    def _publish_backlog(self) -> None:
        if self._backlog_gauge is not None:
            self._backlog_gauge.set(self._backlog)
