"""Every topic RiskLoop reads or writes, declared once.

Agents and senders take topics from here, never by string, so a rename in settings is the
only change needed. Values are raw bytes: we decode ourselves, so a record that fails to
decode can still be dead-lettered with its original bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

    import faust

    from config.settings import Settings


@dataclass(frozen=True)
class Topics:
    """Every topic the worker reads or writes, as Faust topics of raw bytes, one attribute each."""

    by_source: dict[str, faust.TopicT]
    """One topic per source of ``schemas.sources.SOURCE_SPECS``, named by ``Settings.topics``."""
    dispositions: faust.TopicT
    rulepacks: faust.TopicT
    models: faust.TopicT
    geofences: faust.TopicT
    silences: faust.TopicT
    calendars: faust.TopicT
    status: faust.TopicT
    alerts: faust.TopicT
    alerts_shadow: faust.TopicT
    task_events: faust.TopicT
    supervision: faust.TopicT
    verdicts: faust.TopicT
    deadletter: faust.TopicT
    task_commands: faust.TopicT
    feedback: faust.TopicT
    profile_events: faust.TopicT
    rekeyed: faust.TopicT
    ticks: faust.TopicT
    nearby: faust.TopicT

    def sources(self) -> dict[str, faust.TopicT]:
        """Source name → its topic (``schemas/sources.py``'s order)."""
        return dict(self.by_source)

    def inputs(self) -> list[str]:
        """Every topic an agent reads: partition *n* of each writes partition *n* of the state
        store (streams/state.py), so they are co-partitioned (same partition count)."""
        topics = [
            *self.sources().values(),
            self.dispositions,
            self.task_commands,
            self.feedback,
            self.profile_events,
            self.ticks,
            self.rekeyed,
            self.nearby,
        ]
        return [t.get_topic_name() for t in topics]


RAW_BYTES: Final[Mapping[str, Any]] = {
    "key_type": bytes,
    "value_type": bytes,
    "key_serializer": "raw",
    "value_serializer": "raw",
}
"""What makes a Faust topic one of raw bytes: no model, no codec, on either side."""


def raw_topic(
    app: faust.App, *names: str, partitions: int | None = None, compacting: bool | None = None
) -> faust.TopicT:
    """A topic (or one subscription to several) of raw bytes, key and value: we decode
    ourselves, see the module's docstring."""
    return app.topic(*names, **RAW_BYTES, partitions=partitions, compacting=compacting)


def declare(app: faust.App, settings: Settings) -> Topics:
    """Declare all fixed topics on ``app`` with the partition counts from settings."""
    t = settings.topics

    def data(name: str) -> faust.TopicT:
        return raw_topic(app, name, partitions=t.partitions)

    def control(name: str) -> faust.TopicT:
        return raw_topic(app, name, partitions=t.control_partitions, compacting=True)

    return Topics(
        by_source={source: data(name) for source, name in t.sources().items()},
        dispositions=data(t.dispositions),
        rulepacks=control(t.rulepacks),
        models=control(t.models),
        geofences=control(t.geofences),
        silences=control(t.silences),
        calendars=control(t.calendars),
        status=control(t.status),
        alerts=data(t.alerts),
        alerts_shadow=data(t.alerts_shadow),
        task_events=data(t.task_events),
        supervision=data(t.supervision),
        verdicts=data(t.verdicts),
        deadletter=data(t.deadletter),
        task_commands=data(t.task_commands),
        feedback=data(t.feedback),
        profile_events=data(t.profile_events),
        rekeyed=data(t.rekeyed),
        ticks=data(t.ticks),
        nearby=data(t.nearby),
    )
