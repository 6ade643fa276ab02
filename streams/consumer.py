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

Upstream: Faust has no pre-commit hook and no upstream issue asks for one; the nearest change,
faust-streaming/faust#273 ("flushing producer before commit"), put Faust's own producer flush at
the very point we wrap. Partitions left unread or uncommitted after a reassignment are Faust's
robinhood/faust#681 (faust-streaming/faust#318, closed without a fix); clearing ``_read_offset``
after a seek to the beginning is the fix of robinhood/faust#542 (a read offset left over from
before the seek makes Faust drop the re-read messages as already seen).
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

    consumer._commit = commit_after_checkpoint
    consumer.perform_seek = seek_uncommitted_to_beginning


def read_positions(consumer: Any) -> dict[Any, int | None]:
    """Topic-partition → the last offset Faust handed to an agent (point 3 above).

    ``Consumer._read_offset`` is Faust's own record (no public accessor; see the module
    docstring); a copy, so a caller cannot change what Faust believes it has read.
    """
    return dict(getattr(consumer, "_read_offset", {}))
