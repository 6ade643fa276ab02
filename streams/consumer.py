"""Two changes to Faust's consumer that the closed loop depends on, and why.

Faust has no hooks for either, so both wrap a method of the worker's consumer object; they are
covered by the SIGKILL and failover tests in tests/integration/.

1. **Sinks before commits.** Faust flushes its producer, then commits the offsets. We also
   write what the SQL/Redis sinks hold first, so a worker that dies for good leaves nothing in
   its local outbox that the partitions' next owner would not redo. A target that is away
   delays a commit by at most ``wait`` seconds; its rows stay in the outbox meanwhile.
2. **Never-committed partitions start at the beginning.** After a restart with table
   changelogs to recover, Faust left partitions that had never been committed unread (their
   lag never moved; seen in the SIGKILL test). Nothing of them was committed, so their first
   offset is exactly where at-least-once must resume: we seek there explicitly.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers.aiokafka import ensure_aiokafka_TP

from streams.logs import get_logger
from streams.outputs import Outputs

log = get_logger(__name__)


def install(
    consumer: Any, outputs: Outputs, *, wait: float, committing: dict[str, int] | None = None
) -> None:
    """Wrap ``consumer`` (``app.consumer``) as described above.

    ``committing`` gets the offsets of each commit as it starts ("topic:partition" → offset):
    the journals must know a commit the broker may already hold (streams/once.py).
    """
    commit = consumer._commit
    perform_seek = consumer.perform_seek

    async def commit_after_sinks(offsets: Any) -> bool:
        if committing is not None:
            committing.update({f"{tp.topic}:{tp.partition}": int(o) for tp, o in offsets.items()})
        await outputs.drain(timeout=wait)
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

    consumer._commit = commit_after_sinks
    consumer.perform_seek = seek_uncommitted_to_beginning
