"""The effect runner: the one place a worker's outputs are stored and sent.

Handlers decide: they return what handling one event sends, as :class:`Message` records (a
topic role, key and value, and the sink that keeps a copy), built from the typed records of
``schemas/`` and ``loop/``. The agents' boundary (``streams/pipeline.py``, ``each_event``) hands
them to :func:`run` when the handler has returned, inside the event's checkpoint scope: so an
event's outputs go out together, after every decision of the event was made, and an event
that raised sends nothing (its state is undone and it is dead-lettered). ``run`` and the
checkpoint (``streams/checkpoint.py``, the state changelog) are the only code that produces
to Kafka; ``tests/unit/test_effects_scan.py`` keeps it so. An event handled again
(redelivered after a crash, retried after a full disk) sends the same outputs again:
everything downstream is idempotent by id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import faust
from pydantic import BaseModel

from loop.messages import DEPARTMENT as _DEPARTMENT
from loop.messages import Message, output, to_department
from schemas.notification import NotificationIntent
from schemas.records import Alert, SupervisionEvent, Task, TaskEvent
from streams.rekey import partition_of
from streams.state import current_scope
from streams.topics import task_topic

if TYPE_CHECKING:
    from streams.app import RiskLoopApp

__all__ = ["Message", "Output", "output", "run", "to_department"]


Output = Message
"""The name the stages use for what they return."""

_SINK_TYPES: dict[str, type[BaseModel]] = {
    "alert": Alert,
    "task": Task,
    "task_event": TaskEvent,
    "supervision": SupervisionEvent,
    "notification": NotificationIntent,
}


async def run(app: RiskLoopApp, messages: Iterable[Message]) -> None:
    """Hand the sink copies to the SQL/Redis sinks in one batch, then send every message to
    its topic.

    Sinks first: their ``add`` is the step that can fail for a reason that is no fault of the
    event (a full local disk, :class:`~sinks.errors.OutboxFull`), and then the event is
    retried whole (streams/pipeline.py). Failing before anything was sent keeps that retry
    from sending the same alert or task twice."""
    items = [m for m in messages if not await _applied_here(app, m)]
    if app.riskloop_sinks is not None:
        records = [_sink_record(m) for m in items if m.sink]
        if records:
            await app.riskloop_sinks.add(records)
    for m in items:
        if m.role:
            value = m.value.encode()
            if m.partition is not None:
                await _topic(app, m.role).send(value=value, partition=m.partition)
            else:
                await _topic(app, m.role).send(key=m.key.encode(), value=value)


def _sink_record(m: Message) -> BaseModel:
    kind = _SINK_TYPES[m.sink]
    return m.record if isinstance(m.record, kind) else kind.model_validate_json(m.value)


async def _applied_here(app: RiskLoopApp, m: Message) -> bool:
    """A profile event for a USCC whose partition is the one being handled is applied here,
    in this event's scope, instead of travelling through ``riskloop.profile-events`` to come
    back to this very partition: the profile agent would write the same table of the same
    partition (topics are co-partitioned, keys hashed by murmur2 like the producer's), one
    produce and one consume later. Inspections and complaints are keyed by USCC, so this is
    nearly every profile event (0.38 messages per input event in the 2026-12-02 bench).
    Applied in the scope, it is undone with the event and absorbed with its offset."""
    if m.role != "profile_events":
        return False
    scope = current_scope()
    partitions = app.riskloop_settings.topics.partitions
    if scope is None or partition_of(m.key, partitions) != scope.partition:
        return False
    from streams.feedback import handle_profile_event  # feedback → alerting → effects

    await handle_profile_event(app, m.value.encode())
    return True


def _topic(app: RiskLoopApp, role: str) -> faust.TopicT:
    if role.startswith(_DEPARTMENT):
        return task_topic(app, app.riskloop_settings, role[len(_DEPARTMENT) :])
    topic: faust.TopicT = getattr(app.riskloop_topics, role)
    return topic
