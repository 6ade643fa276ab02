"""Outputs as data: what handling one event sends, built first and sent in one place.

A stage builds its outputs as plain dicts (a topic role, key and value, and the sink that
keeps a copy), then ``emit`` stores the sink copies and sends the messages. An event handled
again (redelivered after a crash, retried after a full disk) sends the same outputs again:
everything downstream is idempotent by id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import faust
from pydantic import BaseModel

from schemas.notification import NotificationIntent
from schemas.records import Alert, SupervisionEvent, Task, TaskEvent
from streams.rekey import partition_of
from streams.state import current_scope
from streams.topics import task_topic

if TYPE_CHECKING:
    from streams.app import RiskLoopApp

Output = dict[str, Any]
"""``role``, ``key``, ``value`` (JSON text) and ``sink`` (str), and ``record``: the model the
value was dumped from (the sinks take it as it is instead of parsing the JSON back)."""

_DEPARTMENT = "department:"
_SINK_TYPES: dict[str, type[BaseModel]] = {
    "alert": Alert,
    "task": Task,
    "task_event": TaskEvent,
    "supervision": SupervisionEvent,
    "notification": NotificationIntent,
}


def output(role: str, key: str, value: BaseModel | str, sink: str = "") -> Output:
    """One message for the topic of ``role`` (a field of streams.topics.Topics), or for no
    topic (``role=""``) when only a sink keeps it."""
    if isinstance(value, str):
        return {"role": role, "key": key, "value": value, "sink": sink, "record": None}
    return {"role": role, "key": key, "value": value.model_dump_json(), "sink": sink,
            "record": value}  # fmt: skip


def to_department(department: str, key: str, value: BaseModel, sink: str = "") -> Output:
    """A message for ``tasks.<department>``."""
    return output(_DEPARTMENT + department, key, value, sink)


async def emit(app: RiskLoopApp, outputs: Iterable[Output]) -> None:
    """Hand the sink copies to the SQL/Redis sinks in one batch, then send every output to
    its topic.

    Sinks first: their ``add`` is the step that can fail for a reason that is no fault of the
    event (a full local disk, :class:`~sinks.errors.OutboxFull`), and then the event is
    retried whole (streams/pipeline.py). Failing before anything was sent keeps that retry
    from sending the same alert or task twice."""
    items = [out for out in outputs if not await _applied_here(app, out)]
    if app.riskloop_sinks is not None:
        records = [_sink_record(o) for o in items if o["sink"]]
        if records:
            await app.riskloop_sinks.add(records)
    for out in items:
        if out["role"]:
            await _topic(app, out["role"]).send(
                key=out["key"].encode(), value=out["value"].encode()
            )


def _sink_record(out: Output) -> BaseModel:
    kind = _SINK_TYPES[out["sink"]]
    record = out.get("record")
    return record if isinstance(record, kind) else kind.model_validate_json(out["value"])


async def _applied_here(app: RiskLoopApp, out: Output) -> bool:
    """A profile event for a USCC whose partition is the one being handled is applied here,
    in this event's scope, instead of travelling through ``riskloop.profile-events`` to come
    back to this very partition: the profile agent would write the same table of the same
    partition (topics are co-partitioned, keys hashed by murmur2 like the producer's), one
    produce and one consume later. Inspections and complaints are keyed by USCC, so this is
    nearly every profile event (0.38 messages per input event in the 2026-12-02 bench).
    Applied in the scope, it is undone with the event and absorbed with its offset."""
    if out["role"] != "profile_events":
        return False
    scope = current_scope()
    partitions = app.riskloop_settings.topics.partitions
    if scope is None or partition_of(out["key"], partitions) != scope.partition:
        return False
    from streams.feedback import handle_profile_event  # feedback → alerting → emit

    await handle_profile_event(app, out["value"].encode())
    return True


def _topic(app: RiskLoopApp, role: str) -> faust.TopicT:
    if role.startswith(_DEPARTMENT):
        return task_topic(app, app.riskloop_settings, role[len(_DEPARTMENT) :])
    topic: faust.TopicT = getattr(app.riskloop_topics, role)
    return topic
