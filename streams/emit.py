"""Outputs as data: what handling one event sends, built first and sent in one place.

A stage builds its outputs as plain dicts (a topic role, key and value, and the sink that
keeps a copy), then ``emit`` stores the sink copies and sends the messages. An event handled
again (redelivered after a crash, retried after a full disk) sends the same outputs again:
everything downstream is idempotent by id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import faust
from pydantic import BaseModel

from schemas.records import Alert, SupervisionEvent, Task, TaskEvent
from streams.topics import task_topic

if TYPE_CHECKING:
    from streams.app import RiskLoopApp

Output = dict[str, str]

_DEPARTMENT = "department:"
_SINK_TYPES: dict[str, type[BaseModel]] = {
    "alert": Alert,
    "task": Task,
    "task_event": TaskEvent,
    "supervision": SupervisionEvent,
}


def output(role: str, key: str, value: BaseModel | str, sink: str = "") -> Output:
    """One message for the topic of ``role`` (a field of streams.topics.Topics), or for no
    topic (``role=""``) when only a sink keeps it."""
    body = value if isinstance(value, str) else value.model_dump_json()
    return {"role": role, "key": key, "value": body, "sink": sink}


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
    items = list(outputs)
    if app.riskloop_sinks is not None:
        records = [
            _SINK_TYPES[o["sink"]].model_validate_json(o["value"]) for o in items if o["sink"]
        ]
        if records:
            await app.riskloop_sinks.add(records)
    for out in items:
        if out["role"]:
            await _topic(app, out["role"]).send(
                key=out["key"].encode(), value=out["value"].encode()
            )


def _topic(app: RiskLoopApp, role: str) -> faust.TopicT:
    if role.startswith(_DEPARTMENT):
        return task_topic(app, app.riskloop_settings, role[len(_DEPARTMENT) :])
    topic: faust.TopicT = getattr(app.riskloop_topics, role)
    return topic
