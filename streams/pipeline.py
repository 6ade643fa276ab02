"""The agents: each a short loop of decode → pure call → send.

Source agents (one per source topic): ingest → score → warnings. The nearby agent counts
located complaints in every partition's inspection models (streams/nearby.py). Task agent: task commands and
dispositions, keyed by task id. Feedback and profile agents close the loop on the partitions that
own the entity and the USCC. Timers drive what time alone changes: supervision deadlines,
absence rules, silent trucks, dedup expiry.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from loop.decide.profiles import source_profile_event
from loop.decide.warnings import profile_message
from loop.subject import subject_of
from schemas.errors import ValidationFailed
from schemas.records import RekeyedEvent
from sinks.errors import storage_full
from streams.backfill import is_backfill
from streams.consumer import read_positions
from streams.effects import Message, run
from streams.feedback_stage import apply_local_profile_events, handle_feedback, handle_profile_event
from streams.handle import rule_state, vehicles
from streams.ingest import ingest, send_dead_letter
from streams.logs import correlation, get_logger
from streams.nearby import copies, handle_nearby
from streams.retries import Retries
from streams.scoring import Scored, Where, rekeyed_hits, rekeyed_outputs, score
from streams.state import current_scope
from streams.task_stage import handle_command, handle_disposition
from streams.timers import WALL_TICK, tick_message, tick_partition
from streams.topics import raw_topic
from streams.warning_stage import raise_warnings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import faust

    from streams.worker_context import WorkerContext

log = get_logger(__name__)


def register(worker: WorkerContext) -> None:
    """Register every agent and timer on the worker's Faust app."""
    for source, topic in worker.topics.sources().items():
        _source_agent(worker, source, topic)
    topics = worker.topics
    commands = topics.task_commands.get_topic_name()

    async def task_message(event: faust.EventT) -> list[Message]:
        if event.message.topic == commands:
            return await handle_command(worker, event)
        return await handle_disposition(worker, event)

    @worker.app.agent(
        raw_topic(worker.app, commands, topics.dispositions.get_topic_name()),
        name="tasks",
    )
    async def tasks(stream: faust.StreamT[bytes]) -> None:
        await each_event(worker, "tasks", stream, task_message)

    @worker.app.agent(topics.feedback, name="feedback")
    async def feedback(stream: faust.StreamT[bytes]) -> None:
        await each_event(worker, "feedback", stream, lambda e: handle_feedback(worker, _bytes(e)))

    @worker.app.agent(topics.profile_events, name="profiles")
    async def profiles(stream: faust.StreamT[bytes]) -> None:
        await each_event(
            worker, "profiles", stream, lambda e: handle_profile_event(worker, _bytes(e))
        )

    @worker.app.agent(topics.rekeyed, name="rekeyed")
    async def rekeyed(stream: faust.StreamT[bytes]) -> None:
        await each_event(worker, "rekeyed", stream, lambda e: handle_rekeyed(worker, e))

    @worker.app.agent(topics.nearby, name="nearby")
    async def nearby(stream: faust.StreamT[bytes]) -> None:
        await each_event(worker, "nearby", stream, lambda e: handle_nearby(worker, e))

    @worker.app.agent(topics.ticks, name="ticks")
    async def ticks(stream: faust.StreamT[bytes]) -> None:
        await each_event(
            worker,
            "ticks",
            stream,
            lambda e: tick_partition(worker, e.message.partition, _bytes(e)),
        )

    @worker.app.timer(10.0, name="lag")
    async def lag() -> None:
        measure_lag(worker)

    @worker.app.timer(worker.settings.timer_interval, on_leader=True, name="clock")
    async def clock() -> None:
        n = worker.settings.topics.partitions
        await run(worker, [tick_message(WALL_TICK, partition) for partition in range(n)])


async def handle_rekeyed(worker: WorkerContext, event: faust.EventT) -> list[Message]:
    """The rules an event was re-keyed for, on its entity's partition (streams/rekey.py)."""
    rt = worker.runtime
    ev = RekeyedEvent.model_validate_json(_bytes(event))
    at = ev.event.get("event_time")
    when = datetime.fromisoformat(at).timestamp() if isinstance(at, str) else None
    # the same source event re-keyed again (its handler retried, or redone after a crash
    # before its checkpoint) must not count twice in the entity's windows
    if when is not None and worker.dedup.seen(f"rekeyed:{ev.origin}:{ev.entity}", when):
        rt.metrics.redelivered.labels(event.message.topic).inc()
        return []
    if when is not None:  # this partition has now seen the source's time (absence rules)
        clock = "trucks" if ev.source == "truck_detections" else ev.source
        rt.event_clocks.observe(clock, event.message.partition, when, rt.clock.now().timestamp())
    with correlation(str(ev.event.get("event_id", "")), source=ev.source):
        hits = rekeyed_hits(rt, ev, rule_state(worker))
        if not hits:
            return []
        _, outputs = await raise_warnings(
            worker,
            Scored(hits=hits),
            historical=ev.historical,
            subject=subject_of(ev.source, ev.event),
        )
        return outputs


def _bytes(event: faust.EventT) -> bytes:
    return event.value if isinstance(event.value, bytes) else bytes(event.value or b"")


async def each_event(
    worker: WorkerContext,
    agent: str,
    stream: faust.StreamT[bytes],
    handle: Callable[[faust.EventT], Awaitable[list[Message]]],
) -> None:
    """The agents' boundary: every event passes the checkpoint's gate (streams/checkpoint.py),
    once, and what its handler returns is sent by the effect runner (streams/effects.py), its
    sink copies kept for the checkpoint. An event this partition absorbed before a restart is
    skipped. Whatever a handler raises is undone and ends as a dead letter with the exception's
    class, and the partition goes on — except local storage that is full, which pauses the
    partition and retries until there is room (nothing is acked that is not stored; the sinks'
    outboxes are written at the checkpoint, which pauses intake itself on a full disk)."""
    checkpoint = worker.checkpoint
    metrics = worker.runtime.metrics
    async for event in stream.events():
        msg = event.message
        async with checkpoint.event(
            f"{msg.topic}:{msg.partition}", msg.partition, msg.offset
        ) as fresh:
            if not fresh:
                metrics.redelivered.labels(msg.topic).inc()
                continue
            await _handle_once(worker, agent, event, handle)


async def _handle_once(
    worker: WorkerContext,
    agent: str,
    event: faust.EventT,
    handle: Callable[[faust.EventT], Awaitable[list[Message]]],
) -> None:
    metrics = worker.runtime.metrics
    retries: Retries | None = None  # made on the first failure: a Backoff seeds a Random
    while True:
        try:
            await run(worker, await apply_local_profile_events(worker, await handle(event)))
        except Exception as exc:
            worker.checkpoint.undo()
            if storage_full(exc):
                scope = current_scope()
                if scope is not None:
                    scope.attempt += 1
                metrics.storage_stalled.labels(agent).set(1)
                retries = retries or Retries(first=0.5)
                await retries.wait(
                    log.error, "local storage full; partition paused, retrying", exc, agent=agent
                )
                continue
            metrics.storage_stalled.labels(agent).set(0)
            await _failed(worker, agent, event, exc)
            return
        if retries is not None:
            metrics.storage_stalled.labels(agent).set(0)
            log.info("local storage writable again; partition resumed", agent=agent)
        return


async def _failed(worker: WorkerContext, agent: str, event: faust.EventT, exc: Exception) -> None:
    """One event raised: log it with its traceback, count it, dead-letter it."""
    msg = event.message
    worker.runtime.metrics.event_failures.labels(msg.topic, type(exc).__name__).inc()
    log.error(
        "event failed; undone and dead-lettered",
        agent=agent,
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        error=type(exc).__name__,
        exc_info=exc,
    )
    if agent == "ticks":
        return  # a tick carries no data of anyone's: the next one does the work again
    text = f"{type(exc).__name__}: {exc}".splitlines()[0][:500] if str(exc) else type(exc).__name__
    try:
        await send_dead_letter(
            worker, agent, event, ValidationFailed("internal_error", text), counted=False
        )
    except Exception:  # the dead-letter topic itself failed: logged above, go on
        log.exception("dead letter could not be sent", topic=msg.topic, offset=msg.offset)


def source_handler(
    worker: WorkerContext, source: str
) -> Callable[[faust.EventT], Awaitable[list[Message]]]:
    """What a source agent does with one event: ingest → score → warnings (and the re-keyed
    copies and profile events). Apart from the agent's loop, so one event can be handled
    directly, without a stream (as the in-process CPU measurements of bench/RESULTS.md,
    2026-12-03, did)."""
    rt = worker.runtime
    partitions = worker.settings.topics.partitions

    async def handle(event: faust.EventT) -> list[Message]:
        record = await ingest(worker, source, event)
        if record is None:
            return []
        event_id = record.event_id
        msg = event.message
        where = Where(msg.partition, partitions, f"{msg.topic}:{msg.partition}:{msg.offset}")
        with correlation(event_id, source=source):
            scored = score(rt, source, record, rule_state(worker), vehicles(worker), where)
            backfill = is_backfill(msg.headers)
            subject = subject_of(source, record, scored.scores)
            alerts, outputs = await raise_warnings(
                worker, scored, historical=backfill, subject=subject
            )
            if backfill:  # the entity's partition must know it too
                where.rekeyed[:] = [
                    e.model_copy(update={"historical": True}) for e in where.rekeyed
                ]
            # After the warnings: an event retried (local storage full) sends nothing before
            # its retry, so its re-keyed copy is not counted twice by the entity's partition
            outputs += rekeyed_outputs(where)
            outputs += copies(record, partitions, where.origin)  # for every inspection model
            if (
                profile := source_profile_event(source, record, subject, scored.scores)
            ) is not None:
                outputs.append(profile_message(profile))
            if alerts:
                _observe_latency(worker, source, record)
            return outputs

    return handle


def _source_agent(worker: WorkerContext, source: str, topic: faust.TopicT) -> None:
    rt = worker.runtime
    handle = source_handler(worker, source)

    async def agent(stream: faust.StreamT[bytes]) -> None:
        await worker.control.ready.wait()  # score nothing with a stale pack after a restart
        rt.metrics.worker_ready.set(1)
        await each_event(worker, source, stream, handle)

    agent.__name__ = source
    worker.app.agent(topic, name=source)(agent)


def measure_lag(worker: WorkerContext) -> None:
    """Consumer lag per assigned topic-partition (high watermark minus what we have read)."""
    consumer = worker.app.consumer
    gauge = worker.runtime.metrics.consumer_lag
    read = read_positions(consumer)
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


def _observe_latency(worker: WorkerContext, source: str, record: object) -> None:
    rt = worker.runtime
    now = rt.clock.now()
    at = getattr(record, "event_time", None)
    if at is not None:
        rt.metrics.latency.labels(source, "event").observe(max(0.0, (now - at).total_seconds()))
