"""Ingest stage: bytes from a source topic → a validated record, or the dead-letter topic.

Invariant (tested), per source: records in = accepted + dead-lettered + duplicates, each record
counted once, in one outcome. Nothing is dropped silently and no bad record can stop an agent.
The three outcomes are the door's: a record accepted here and refused by a later stage (a
disposition for a task nobody holds) still goes to the dead-letter topic, but is counted by that
stage (``riskloop_dispositions_rejected_total``), not a second time here.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from schemas.errors import ValidationFailed
from schemas.ingest import dead_letter, decode_source
from streams.effects import output, run
from streams.logs import get_logger
from streams.state import retrying

if TYPE_CHECKING:
    import faust
    from faust.types.tuples import Message

    from schemas.records import SourceRecord
    from streams.worker_context import WorkerContext

log = get_logger(__name__)

_ACCEPTED: weakref.WeakSet[Message] = weakref.WeakSet()
"""Messages :func:`ingest` counted as accepted while their event is being handled (weak: gone
with the message), so a later stage's dead letter of one is not counted as a refusal too."""


async def ingest(worker: WorkerContext, source: str, event: faust.EventT) -> SourceRecord | None:
    """The validated, normalised record, or None when it was dead-lettered or a duplicate."""
    rt = worker.runtime
    m = rt.metrics
    counting = not retrying()  # a retry after a full disk was counted the first time
    if counting:
        m.events_in.labels(source).inc()
    msg = event.message
    raw = event.value if isinstance(event.value, bytes) else bytes(event.value or b"")
    try:
        record = decode_source(
            source, raw, limits=rt.limits, now=rt.clock.now(), catalogue=rt.catalogue
        )
    except ValidationFailed as exc:
        await send_dead_letter(worker, source, event, exc, counted=counting)
        return None
    when = record.event_time.timestamp()
    rt.event_watermark = max(rt.event_watermark, when)
    rt.event_clocks.observe(source, msg.partition, when, rt.clock.now().timestamp())
    if worker.dedup.seen(f"{source}:{record.event_id}", when):
        if counting:
            m.events_duplicate.labels(source).inc()
        return None
    if counting:
        m.events_accepted.labels(source).inc()
    _ACCEPTED.add(msg)
    return record


async def send_dead_letter(
    worker: WorkerContext, source: str, event: faust.EventT, exc: Exception, *, counted: bool = True
) -> None:
    """Publish the rejected bytes with reason, field and where they came from.

    ``counted=False`` for an event ingest had accepted and handling then failed (the agents'
    boundary, streams/pipeline.py): it is in ``accepted`` already, and counted in
    ``riskloop_event_failures_total``, so ``in = accepted + dead-lettered + duplicates`` stays
    exact."""
    rt = worker.runtime
    msg = event.message
    reason = (
        exc.reason
        if isinstance(exc, ValidationFailed)
        else getattr(exc, "reason", "internal_error")
    )
    raw = event.value if isinstance(event.value, bytes) else b""
    record = dead_letter(
        exc if isinstance(exc, ValidationFailed) else ValidationFailed(reason, str(exc)),
        source=source,
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        key=event.key if isinstance(event.key, bytes) else None,
        payload=raw,
        now=rt.clock.now(),
        worker=rt.worker_id,
        sealer=rt.sealer,
    )
    if counted and msg not in _ACCEPTED:  # else accepted at the door: the refusing stage
        rt.metrics.events_deadlettered.labels(source, reason).inc()
    await run(worker, [output("deadletter", msg.topic, record)])
    log.warning(
        "dead-lettered", source=source, reason=reason, field=record.field, offset=msg.offset
    )
