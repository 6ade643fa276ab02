"""Complaints near premises: every partition's inspection model counts every located complaint.

The inspection model's "complaints near the premises" feature (models/inspections.py) counts
food and sanitation complaints in the 0.01° cells around an inspection's place. Models are
partition state (streams/model_state.py) and an inspection is scored on its USCC's partition,
while a complaint lands on the partition of its USCC, else of its id: with 4 partitions an
inspection counted about a quarter of the complaints near it.

So a located complaint of a kind the model counts (:func:`models.inspections.counts_nearby`)
is copied, as a :class:`~schemas.internal.NearbyComplaint`, to **every** partition of
``riskloop.nearby-complaints`` (addressed by partition, like the ticks), and the ``nearby``
agent counts each copy in its partition's inspection models. The complaint's own partition
gets its copy the same way, so no count depends on where the complaint landed.

Why a copy per partition and not the others:

- *Re-keying by grid cell* (streams/rekey.py's pattern) meets a complaint and an inspection
  only when both go to one key; an inspection reads nine cells, which hash to up to nine
  partitions, and it would then have to be scored away from its USCC's history.
- *A Faust GlobalTable* (or a compacted per-cell topic every worker reads whole) lives outside
  the checkpoint: what a worker had read of it when it scored an inspection is not tied to
  the offsets it commits, so a crash and a restore could count differently. The worker no
  longer uses Faust tables at all (streams/tables.py).

The copy topic is an ordinary input topic: its offsets are absorbed by the checkpoint with the
models that counted it (streams/checkpoint.py), so a crash redoes exactly the copies not yet in
a checkpoint, and a copy sent twice (its complaint redone after a crash before its own
checkpoint) is counted once (the dedup window, by the complaint's origin). The count is then
complete and, for copies handled before an inspection, the same on any number of partitions
and workers: cells hold event times and the window is by event time, so the order of the
copies does not matter. What no join fixes: complaints and inspections are separate topics, so
a complaint whose copy arrives *after* an inspection is scored is not in that inspection's
count (as on one partition before).

Cost: one small record per partition per located food/sanitation complaint (~150 bytes each),
and every partition's cells hold every such complaint of the last ``nearby_days`` (a float
each).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from models.inspections import counts_nearby
from schemas.internal import NearbyComplaint
from schemas.records import Complaint
from streams.effects import output
from streams.state import retrying

if TYPE_CHECKING:
    import faust

    from loop.messages import Message
    from schemas.records import Record
    from streams.worker_context import WorkerContext


def copies(record: Record, partitions: int, origin: str) -> list[Message]:
    """One copy of a located food/sanitation complaint per partition; nothing for any other
    record.

    >>> from datetime import datetime, UTC
    >>> c = Complaint(event_id="c1", event_time=datetime(2026, 1, 1, tzinfo=UTC), channel="web",
    ...               text="后厨有老鼠", category="食品安全", lat=30.27, lon=120.15)
    >>> [m.partition for m in copies(c, 3, "complaints:0:7")]
    [0, 1, 2]
    >>> copies(c.model_copy(update={"category": "特种设备"}), 3, "complaints:0:7")
    []
    """
    if not isinstance(record, Complaint) or record.lat is None or record.lon is None:
        return []
    if not counts_nearby(record.category):
        return []
    copy = NearbyComplaint(
        ref=record.event_id, at=record.event_time, lat=record.lat, lon=record.lon, origin=origin
    )
    text = copy.model_dump_json()
    return [output("nearby", record.event_id, text, partition=p) for p in range(partitions)]


async def handle_nearby(worker: WorkerContext, event: faust.EventT) -> list[Message]:
    """Count one copy in this partition's inspection models (once, however often it came)."""
    rt = worker.runtime
    raw = event.value if isinstance(event.value, bytes) else bytes(event.value or b"")
    copy = NearbyComplaint.model_validate_json(raw)
    if rt.models is None or retrying():  # no models; or counted by this event's first attempt
        return []
    # the dedup ids are one index over the worker's partitions: each copy's own id
    if worker.dedup.seen(f"nearby:{copy.origin}@{event.message.partition}", copy.at.timestamp()):
        rt.metrics.redelivered.labels(event.message.topic).inc()
        return []
    rt.models.note_nearby(copy.at, copy.lat, copy.lon)
    return []
