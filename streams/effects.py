"""The effect runner: the one place a worker's outputs are kept for the sinks and sent.

Handlers decide: they return what handling one event sends, as :class:`Message` records (a
topic role, key and value, and the sink that keeps a copy), built from the typed records of
``schemas/`` and ``loop/``. The agents' boundary (``streams/pipeline.py``, ``each_event``) hands
them to :func:`run` when the handler has returned, inside the event's checkpoint scope: so an
event's outputs go out together, after every decision of the event was made, and an event
that raised sends nothing (its state is undone and it is dead-lettered). ``run`` and the
checkpoint (``streams/checkpoint.py``, the state changelog) are the only code that produces
to Kafka; ``tests/unit/streams/test_effects_scan.py`` keeps it so. An event handled again
(redelivered after a crash) sends the same outputs again: everything downstream is
idempotent by id.

The SQL/Redis sink copies are not written here: ``run`` keeps them with the event
(``EventScope.sinks``), the checkpoint's gate buffers them when the event is absorbed, and the
checkpoint stores the whole buffer in the sinks' outboxes, one transaction per sink, before its
changelog marker (streams/sink_buffer.py). An event costs no SQLite write, and one whose
handler raised leaves no copy behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loop.messages import DEPARTMENT as _DEPARTMENT
from loop.messages import Message, output, to_department
from schemas.notification import NotificationIntent
from schemas.records import Alert, SupervisionEvent, Task, TaskEvent
from streams.state import current_scope

if TYPE_CHECKING:
    from collections.abc import Iterable

    import faust
    from pydantic import BaseModel

    from streams.worker_context import WorkerContext

__all__ = ["Message", "output", "run", "to_department"]


_SINK_TYPES: dict[str, type[BaseModel]] = {
    "alert": Alert,
    "task": Task,
    "task_event": TaskEvent,
    "supervision": SupervisionEvent,
    "notification": NotificationIntent,
}


async def run(worker: WorkerContext, messages: Iterable[Message]) -> None:
    """Keep the sink copies for the checkpoint, then send every message to its topic.

    Outside an event (a tool, a test calling this directly) there is no checkpoint scope to
    keep the copies with, and nothing absorbed for them to wait for: they go to the sinks at
    once, as before the buffer."""
    items = list(messages)
    if worker.sinks is not None:
        records = [_sink_record(m) for m in items if m.sink]
        if records:
            scope = current_scope()
            if scope is not None:
                scope.sinks.extend(records)
            else:
                await worker.sinks.add(records)
    send = worker.producer.send
    for m in items:
        if m.role:
            topic = _topic(worker, m.role)
            if m.partition is not None:
                await send(topic, None, m.value.encode(), m.partition)
            else:
                await send(topic, m.key.encode(), m.value.encode())


def _sink_record(m: Message) -> BaseModel:
    kind = _SINK_TYPES[m.sink]
    return m.record if isinstance(m.record, kind) else kind.model_validate_json(m.value)


def _topic(worker: WorkerContext, role: str) -> str:
    """The name of a role's topic (a department's task topic is named from its prefix)."""
    if role.startswith(_DEPARTMENT):
        return f"{worker.settings.topics.task_prefix}{role[len(_DEPARTMENT) :]}"
    topic: faust.TopicT = getattr(worker.topics, role)
    return topic.get_topic_name()
