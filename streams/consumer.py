"""Every place RiskLoop reads or patches a private attribute of Faust's consumer, and why.

Faust has no hooks for these, so this module wraps methods of the worker's consumer object and
reads its bookkeeping; nothing else in the project touches Faust's private consumer attributes
(``tests/unit/streams/test_faust_private.py`` scans the source). Each is covered by the SIGKILL and
failover tests in tests/integration/, which fail if a Faust upgrade changes what they rely on
(faust-streaming is pinned in pyproject.toml).

1. **The checkpoint before the offsets** (streams/checkpoint.py). Faust flushes its producer,
   then commits the offsets of the events its agents finished. The outputs those events sent
   (through the worker's own producer, streams/producer.py, not Faust's), the state they
   changed and the sinks' rows must be stored first: ``Consumer._commit`` (the last step of
   Faust's commit) runs the checkpoint, which flushes that producer, and commits nothing if
   the outputs or the changelog could not be written.
2. **Never-committed partitions start at the beginning.** After a restart, Faust left
   partitions that had never been committed unread (their lag never moved; seen in the SIGKILL
   test). Nothing of them was committed, so their first offset is exactly where at-least-once
   must resume: we seek there explicitly (reading ``Consumer._committed_offset`` and
   ``_read_offset``, Faust's own bookkeeping, which has no public accessor).
3. **How far each partition has been read**, for the lag gauge: ``Consumer._read_offset``.
4. **No livelock check of a partition that has no position yet.** Faust's commit-livelock
   detector (``verify_all_partitions_active``, every few seconds) reads aiokafka's
   ``TopicPartitionState.position``, which *asserts* that a position is set; it is unset from a
   seek to the beginning (point 2) until the fetcher resets it. A detector round in that window
   crashed a worker's consumer (CI, 2026-12-05: the failover scenario, 1.2 s after "never-
   committed partitions read from the beginning"). Such a partition is skipped for that
   round: there is nothing read on it yet to be late with.
5. **The loop's own topics' fetches before the sources'.** aiokafka keeps each partition's
   fetched records in one ordered buffer (``Fetcher._records``) and a poll drains it from the
   oldest fetch; a new fetch of a partition is sent only once its last one is drained. With
   16 source partitions of ~600 events a fetch, a task command or a re-keyed complaint fetched
   after them waited behind thousands of source events (the 40,000-event bench: the
   ``rekeyed`` lag grew to ~5,000 and ``task-commands`` to ~1,000 during ingest; downstream
   caught up 7 s after it, so the loop ran at 0.82–0.87× the ingest; bench/RESULTS.md,
   2026-12-06). The buffer is swapped for one that puts a fetch of any other topic — re-keyed,
   task commands, feedback, profile events, dispositions, ticks, control — in front when it
   arrives. A poll (``RISKLOOP_MEMORY__POLL_RECORDS``) still takes records
   in buffer order, so nothing else about polling changes. The CPU the loop's own work took
   after the ingest window is now spent inside it, so the bench's ingest rate comes down to its
   end-to-end rate, the loop's real capacity (an earlier attempt, branch
   ``exp-internal-first``, was refused for a drop that was most likely this one, taken then for
   a cost; not re-measured). No aiokafka issue
   asks for this; zio/zio-kafka#844 describes the same read starvation in the Java client
   ("consume everything from 1 partition before going to the next one").

Upstream: Faust has no pre-commit hook and no upstream issue asks for one; the nearest change,
faust-streaming/faust#273 ("flushing producer before commit"), put Faust's own producer flush at
the very point we wrap. Partitions left unread or uncommitted after a reassignment are Faust's
robinhood/faust#681 (faust-streaming/faust#318, closed without a fix); clearing ``_read_offset``
after a seek to the beginning is the fix of robinhood/faust#542 (a read offset left over from
before the seek makes Faust drop the re-read messages as already seen). Point 4: Faust's
``AIOKafkaConsumerThread.verify_event_path`` checks ``committed_offset is not None`` after
reading ``position``, written for an aiokafka whose ``position`` could be None; aiokafka 0.14
asserts instead (no upstream issue found in the sources searched).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from faust.transport.drivers.aiokafka import ensure_aiokafka_TP

from streams.logs import get_logger

if TYPE_CHECKING:
    from collections.abc import Collection

    from streams.checkpoint import Checkpoint
    from streams.metrics import Metrics

log = get_logger(__name__)


class LoopFirst(OrderedDict[Any, Any]):
    """aiokafka's buffer of fetched records (point 5): a fetch of a topic not in ``sources``
    goes in front, so the next poll drains it first; the order within a partition is Kafka's.

    >>> from collections import namedtuple
    >>> TP = namedtuple("TP", "topic partition")
    >>> buf = LoopFirst({"trucks.gps"})
    >>> buf[TP("trucks.gps", 0)] = "600 events"
    >>> buf[TP("trucks.gps", 1)] = "600 events"
    >>> buf[TP("task-commands", 2)] = "3 commands"
    >>> [tp.topic for tp in buf]
    ['task-commands', 'trucks.gps', 'trucks.gps']
    >>> [tp.topic for tp in LoopFirst({"trucks.gps"}, {TP("trucks.gps", 3): 1, TP("ticks", 0): 2})]
    ['ticks', 'trucks.gps']
    """

    def __init__(self, sources: Collection[str], items: Any = ()) -> None:
        self.sources = frozenset(sources)  # first: the items below go through __setitem__
        super().__init__(items)

    def __setitem__(self, tp: Any, value: Any) -> None:
        super().__setitem__(tp, value)
        if tp.topic not in self.sources:
            self.move_to_end(tp, last=False)


def loop_first(aio_consumer: Any, sources: Collection[str]) -> None:
    """Point 5 on a started aiokafka consumer (its fetcher exists from ``start()``); called in
    the consumer's thread, where the fetcher runs, before each poll — a no-op once done."""
    fetcher = getattr(aio_consumer, "_fetcher", None)
    if fetcher is not None and type(fetcher._records) is not LoopFirst:
        fetcher._records = LoopFirst(sources, fetcher._records)


def install(
    consumer: Any, checkpoint: Checkpoint, metrics: Metrics, sources: Collection[str]
) -> None:
    """Wrap ``consumer`` (``app.consumer``) as described above; ``sources``: the topics whose
    fetches wait behind every other topic's (point 5)."""
    commit = consumer._commit
    perform_seek = consumer.perform_seek

    async def commit_after_checkpoint(offsets: Any) -> bool:
        try:
            await checkpoint.commit()
        except Exception as exc:  # nothing committed: the events are not stored yet
            metrics.checkpoint_failures.inc()
            log.warning(
                "checkpoint failed; offsets not committed", error=f"{type(exc).__name__}: {exc}"
            )
            return False
        return bool(await commit(offsets))

    async def seek_uncommitted_to_beginning() -> None:
        await perform_seek()
        fresh = [
            tp
            for tp in consumer.assignment()
            if consumer._committed_offset.get(tp) is None and not tp.topic.endswith("-changelog")
        ]
        if fresh:
            await consumer._thread.seek_to_beginning(*map(ensure_aiokafka_TP, fresh))
            for tp in fresh:
                consumer._read_offset[tp] = None
            log.info("never-committed partitions read from the beginning", partitions=len(fresh))

    verify_event_path = consumer.verify_event_path

    def verify_positioned(now: float, tp: Any) -> None:
        if not has_position(consumer, tp):
            return None  # sought, not yet reset by the fetcher: nothing read there to check
        return verify_event_path(now, tp)  # type: ignore[no-any-return]

    consumer._commit = commit_after_checkpoint
    consumer.perform_seek = seek_uncommitted_to_beginning
    consumer.verify_event_path = verify_positioned
    thread = consumer._thread
    fetch_records = thread._fetch_records

    async def loop_topics_first(  # Faust's own signature: timeout= and max_records=
        aio: Any,
        active: Any,
        timeout: float | None = None,  # noqa: ASYNC109
        max_records: int | None = None,
    ) -> Any:
        loop_first(aio, sources)
        return await fetch_records(aio, active, timeout=timeout, max_records=max_records)

    thread._fetch_records = loop_topics_first


def has_position(consumer: Any, tp: Any) -> bool:
    """Whether aiokafka knows where ``tp`` is to be read from (point 4 above); True when the
    partition's state cannot be found (Faust's own check then decides)."""
    thread = getattr(consumer, "_thread", None)
    inner = getattr(thread, "_consumer", None)
    subscription = getattr(getattr(inner, "_subscription", None), "subscription", None)
    assignment = getattr(subscription, "assignment", None)
    if assignment is None:
        return True
    state = assignment.state_value(ensure_aiokafka_TP(tp))
    return state is None or bool(state.has_valid_position)


def read_positions(consumer: Any) -> dict[Any, int | None]:
    """Topic-partition → the last offset Faust handed to an agent (point 3 above).

    ``Consumer._read_offset`` is Faust's own record (no public accessor; see the module
    docstring); a copy, so a caller cannot change what Faust believes it has read.
    """
    return dict(getattr(consumer, "_read_offset", {}))
