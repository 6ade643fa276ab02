"""The agents: each a short loop of decode → pure call → send.

Source agents (one per source topic): ingest → score → warnings. Task agent: task commands and
dispositions, keyed by task id. Feedback and profile agents close the loop on the partitions that
own the entity and the USCC. Timers drive what time alone changes: supervision deadlines,
absence rules, silent trucks, dedup expiry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import faust

from streams.alerting import profile_output, raise_warnings
from streams.emit import emit
from streams.feedback import handle_feedback, handle_profile_event
from streams.ingest import ingest
from streams.logs import correlation, get_logger
from streams.scoring import score
from streams.tasks import handle_command, handle_disposition
from streams.timers import WALL_TICK, tick_partition

if TYPE_CHECKING:
    from streams.app import RiskLoopApp

log = get_logger(__name__)

_PROFILE_KIND = {"inspections": "inspection", "complaints": "complaint"}


def register(app: RiskLoopApp) -> None:
    """Register every agent and timer on ``app``."""
    for source, topic in app.riskloop_topics.sources().items():
        _source_agent(app, source, topic)
    topics = app.riskloop_topics

    @app.agent(app.topic(topics.task_commands.get_topic_name(), topics.dispositions.get_topic_name(),
                         key_type=bytes, value_type=bytes, value_serializer="raw", key_serializer="raw"),
               name="tasks")  # fmt: skip
    async def tasks(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            if event.message.topic == topics.task_commands.get_topic_name():
                await handle_command(app, event)
            else:
                await handle_disposition(app, event)

    @app.agent(topics.feedback, name="feedback")
    async def feedback(stream: faust.StreamT[bytes]) -> None:
        async for raw in stream:
            await handle_feedback(app, raw)

    @app.agent(topics.profile_events, name="profiles")
    async def profiles(stream: faust.StreamT[bytes]) -> None:
        async for raw in stream:
            await handle_profile_event(app, raw)

    @app.agent(topics.ticks, name="ticks")
    async def ticks(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            await tick_partition(app, event.message.partition, bytes(event.value or b""))

    @app.timer(10.0, name="lag")
    async def lag() -> None:
        measure_lag(app)

    @app.timer(app.riskloop_settings.timer_interval, on_leader=True, name="clock")
    async def clock() -> None:
        for partition in range(app.riskloop_settings.topics.partitions):
            await topics.ticks.send(value=WALL_TICK, partition=partition)


def _source_agent(app: RiskLoopApp, source: str, topic: faust.TopicT) -> None:
    async def agent(stream: faust.StreamT[bytes]) -> None:
        rt = app.riskloop_runtime
        tables = app.riskloop_tables
        await app.riskloop_control.ready.wait()  # score nothing with a stale pack after a restart
        rt.metrics.worker_ready.set(1)
        async for event in stream.events():
            record = await ingest(app, source, event)
            if record is None:
                continue
            event_id = getattr(record, "event_id")  # noqa: B009
            with correlation(event_id, source=source):
                scored = score(rt, source, record, tables.rule_state, tables.vehicles)
                alerts = await raise_warnings(app, scored)
                uscc = getattr(record, "uscc", None)
                if source in _PROFILE_KIND and uscc:
                    kind = _PROFILE_KIND[source]
                    if source == "inspections":
                        from loop.profile import inspection_kind

                        kind = inspection_kind(record.outcome)  # type: ignore[attr-defined]
                    at = record.event_time.isoformat()  # type: ignore[attr-defined]
                    region = getattr(record, "region_code", None)
                    await emit(app, [profile_output(uscc, kind, at, event_id, region)])
                if alerts:
                    _observe_latency(app, source, record)

    agent.__name__ = source
    app.agent(topic, name=source)(agent)


def measure_lag(app: RiskLoopApp) -> None:
    """Consumer lag per assigned topic-partition (high watermark minus what we have read)."""
    consumer = app.consumer
    gauge = app.riskloop_runtime.metrics.consumer_lag
    read = getattr(consumer, "_read_offset", {})
    for tp in consumer.assignment():
        if tp.topic.endswith("-changelog") or "__assignor__" in tp.topic:
            continue  # read only during recovery: "behind" there means nothing
        try:
            high = consumer.highwater(tp)
        except Exception:
            continue
        if high is None:
            continue
        position = read.get(tp)
        behind = high if position is None else max(0, high - position - 1)
        gauge.labels(tp.topic, str(tp.partition)).set(behind)


def _observe_latency(app: RiskLoopApp, source: str, record: object) -> None:
    rt = app.riskloop_runtime
    now = rt.clock.now()
    at = getattr(record, "event_time", None)
    if at is not None:
        rt.metrics.latency.labels(source, "event").observe(max(0.0, (now - at).total_seconds()))
