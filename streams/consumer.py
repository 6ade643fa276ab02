"""Every place RiskLoop reads or patches a private attribute of Faust's consumer, and why.

Faust has no hooks for these, so this module wraps methods of the worker's consumer object and
reads its bookkeeping; nothing else in the project touches Faust's private consumer attributes
(``tests/unit/streams/test_faust_private.py`` scans the source). Each is covered by the SIGKILL and
failover tests in tests/integration/, which fail if a Faust upgrade changes what they rely on
(faust-streaming is pinned in pyproject.toml).

1. **The checkpoint before the offsets** (streams/checkpoint.py). Faust flushes its producer,
   then commits the offsets of the events its agents finished. The state those events changed,
   and the sinks' rows, must be stored first: ``Consumer._commit`` (the last step of Faust's
   commit) runs the checkpoint, and commits nothing if the changelog could not be written.
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

from typing import TYPE_CHECKING, Any

from faust.transport.drivers.aiokafka import ensure_aiokafka_TP

from streams.logs import get_logger

if TYPE_CHECKING:
    from streams.checkpoint import Checkpoint
    from streams.metrics import Metrics

log = get_logger(__name__)


def install(consumer: Any, checkpoint: Checkpoint, metrics: Metrics) -> None:
    """Wrap ``consumer`` (``app.consumer``) as described above."""
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
