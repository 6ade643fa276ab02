"""Outputs as data: what handling one event sends, so that it can be stored and sent again.

A stage builds its outputs as plain dicts (a topic role, key and value, and the sink that
keeps a copy), stores them in the journal next to the state they came from (streams/once.py),
then ``emit`` sends them. A redelivered event whose state was already stored sends the stored
outputs again instead of recomputing them. Everything downstream is idempotent by id.
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
    """Send every output to its topic (attached to the current event) and hand the sink
    copies to the SQL/Redis sinks in one batch."""
    records: list[BaseModel] = []
    for out in outputs:
        if out["role"]:
            await _topic(app, out["role"]).send(
                key=out["key"].encode(), value=out["value"].encode()
            )
        if out["sink"] and app.riskloop_sinks is not None:
            records.append(_SINK_TYPES[out["sink"]].model_validate_json(out["value"]))
    if records and app.riskloop_sinks is not None:
        await app.riskloop_sinks.add(records)


def _topic(app: RiskLoopApp, role: str) -> faust.TopicT:
    if role.startswith(_DEPARTMENT):
        return task_topic(app, app.riskloop_settings, role[len(_DEPARTMENT) :])
    topic: faust.TopicT = getattr(app.riskloop_topics, role)
    return topic
