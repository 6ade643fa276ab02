"""The Faust application: built from one Settings object, with its topics and agents.

``build_app(settings)`` is the only way an app comes to be, so a test, the demo and a worker
each get exactly the configuration they pass in (no module-level app reading the environment).
"""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING, Any

import faust

from schemas.dedup import DedupWindow
from streams import kafka_clients, pipeline, tables, web
from streams.checkpoint import Checkpoint, changelog_topic, read_partition, replay_changelog
from streams.control_state import ControlState
from streams.dedup import BucketedIds
from streams.health import RiskLoopAgent
from streams.logs import get_logger
from streams.model_state import PartitionModels
from streams.producer import WorkerProducer
from streams.retries import Retries
from streams.runtime import Runtime, build_runtime
from streams.state import Store
from streams.topics import declare
from streams.worker_context import Sinks, WorkerContext

if TYPE_CHECKING:
    from collections.abc import Callable

    from config.settings import Settings

log = get_logger(__name__)


class RiskLoopApp(faust.App):
    """A Faust app that carries the context its stages are given (``worker``), built whole
    when the app is: the stages take the context, never this class (streams/worker_context.py).
    """

    def __init__(
        self,
        settings: Settings,
        runtime: Runtime | None = None,
        sinks: Sinks | None = None,
        **conf: Any,
    ) -> None:
        super().__init__(settings.app_id, **conf)
        self.worker = _context(self, settings, runtime or build_runtime(settings), sinks)

    async def on_stop(self) -> None:
        """Faust's stop (its consumer stopped, the partitions revoked, so the last checkpoint
        written), then what the worker's producer still holds is flushed."""
        await super().on_stop()
        await self.worker.producer.close()


HEARTBEATS_PER_SESSION = 10
"""Heartbeats per session timeout. Kafka asks for at least 3; at 5 (3 s of 15) a failover took
the 15-s timeout plus ~3 s for the survivor's next heartbeat to hear of the rebalance
(bench/RELIABILITY.md, 2026-12-07 night); a heartbeat is one small request to the coordinator."""


def faust_config(settings: Settings) -> dict[str, Any]:
    """Faust keyword settings derived from ours."""
    return {
        "broker": settings.kafka_broker,
        "broker_credentials": kafka_clients.faust_credentials(settings),
        "store": "memory://",  # no Faust tables: state is streams/state.py's store
        "datadir": str(settings.data_dir),
        "web_host": settings.web_host,
        "web_bind": settings.web_host,
        "web_port": settings.web_port,
        "web_enabled": True,
        # Faust's own /table/ and /router/ views are not our API and take no token
        "web_tables_enabled": False,
        "web_router_enabled": False,
        "topic_partitions": settings.topics.partitions,
        "topic_replication_factor": 1,
        "processing_guarantee": settings.processing_guarantee,
        "autodiscover": False,
        "key_serializer": "raw",
        "value_serializer": "raw",
        "table_cleanup_interval": 30.0,
        "broker_commit_every": settings.commit_every,
        "broker_commit_interval": settings.commit_interval,
        "stream_wait_empty": False,
        "stream_buffer_maxsize": settings.memory.stream_buffer,
        "consumer_max_fetch_size": settings.memory.fetch_bytes,
        "broker_max_poll_records": settings.memory.poll_records or None,
        "consumer_auto_offset_reset": "earliest",
        "producer_acks": -1,
        # static membership (KIP-345): a worker restarted under the same identity takes its
        # partitions back at once, instead of waiting out the dead session and rebalancing
        # twice (after which Faust can leave never-committed partitions unread)
        "consumer_group_instance_id": worker_identity(settings),
        # and a dead one's partitions move after this, not Faust's 60 s (README "When a
        # worker dies"); heartbeats every tenth of it: a survivor learns that the group gave
        # the dead one up at its next heartbeat, so a failover waits up to one interval more
        "broker_session_timeout": settings.session_timeout,
        "broker_heartbeat_interval": settings.session_timeout / HEARTBEATS_PER_SESSION,
        "Agent": RiskLoopAgent,  # counts and logs every agent crash (streams/health.py)
    }


def worker_identity(settings: Settings) -> str:
    """One worker's stable name: app, host and HTTP port (two workers on a host differ)."""
    return f"{settings.app_id}@{socket.gethostname()}:{settings.web_port}"


def _context(app: faust.App, settings: Settings, rt: Runtime, sinks: Sinks | None) -> WorkerContext:
    """The worker context: topics declared on ``app``, the partition store and its tables, the
    checkpoint, dedup; the runtime told its worker's name and where the event clocks live."""
    spill_dir = settings.data_dir / "cold" if settings.memory.cold_on_disk else None
    store = Store(settings.memory.hot_bytes, spill_dir)
    tables_ = tables.declare(store)
    rt.worker_id = worker_identity(settings)
    rt.event_clocks.store = tables_.clocks
    producer = WorkerProducer(settings, retried=changelog_topic(settings.app_id), on_lost=_lost(rt))
    control = ControlState()
    control.ready.set()  # no control plane unless the runner starts one
    worker = WorkerContext(
        app=app,
        settings=settings,
        topics=declare(app, settings),
        runtime=rt,
        store=store,
        tables=tables_,
        checkpoint=_checkpoint(settings, rt, store, producer, lambda: worker.sinks),
        dedup=DedupWindow(BucketedIds(store), settings.dedup_window_seconds),
        producer=producer,
        control=control,
        sinks=sinks,
    )
    if isinstance(rt.models, PartitionModels):  # the models are partition state too
        rt.models.store = store
        worker.checkpoint.models = rt.models.records
    return worker


def _lost(rt: Runtime) -> Callable[[str, str], None]:
    """What the worker does when the broker refuses an output for good: counts and says it."""

    def lost(topic: str, error: str) -> None:
        rt.metrics.outputs_refused.labels(topic).inc()
        log.error(
            "output refused by the broker; checkpoints stop until a restart",
            topic=topic,
            error=error,
        )

    return lost


def _checkpoint(
    settings: Settings,
    rt: Runtime,
    store: Store,
    producer: WorkerProducer,
    sinks: Callable[[], Sinks | None],
) -> Checkpoint:
    """The app's checkpoint: the worker's producer for the changelog, the sinks given the
    buffered copies and drained before it (``sinks`` is asked at each checkpoint: a test may
    put sinks in after the app is built)."""
    metrics = rt.metrics

    async def drain() -> bool:
        now = sinks()
        return True if now is None else bool(await now.drain(timeout=settings.sink_wait))

    async def keep(records: list[Any]) -> None:
        now = sinks()
        if now is not None:
            await now.add(records)

    def stalled(full: bool) -> None:
        metrics.storage_stalled.labels("checkpoint").set(1 if full else 0)

    def observed(records: int, size: int, seconds: float) -> None:
        metrics.checkpoint_records.inc(records)
        metrics.checkpoint_bytes.inc(size)
        metrics.checkpoint_seconds.observe(seconds)

    return Checkpoint(
        store=store,
        topic=changelog_topic(settings.app_id),
        send=producer.send,
        flush=producer.flush,
        drain=drain,
        sinks=keep,
        on_stall=stalled,
        on_checkpoint=observed,
        worker=rt.worker_id,
        dirty_bytes=settings.memory.dirty_bytes,
    )


async def _restore(worker: WorkerContext, partition: int) -> None:
    """Read one partition's state back from the changelog (in a thread), then let its events
    through (streams/checkpoint.py). Any failure, reading or taking, is retried: the partition
    waits meanwhile. It runs as a future of the app, where an exception would crash the worker."""
    settings = worker.settings
    topic = changelog_topic(settings.app_id)
    retries = Retries(first=1.0)
    while True:
        try:
            records = await asyncio.to_thread(
                read_partition, kafka_clients.confluent(settings), topic, partition
            )
            restored = replay_changelog(records)
            worker.checkpoint.take(partition, restored)
            break
        except Exception as exc:
            worker.runtime.metrics.restore_failures.inc()
            await retries.wait(
                log.warning, "state restore failed; retrying", exc, partition=partition
            )
    log.info(
        "partition state restored",
        partition=partition,
        records=restored.records,
        keys=sum(len(t) for t in restored.state.tables.values()),
        torn=restored.torn,
        skipped=restored.bad,
    )


def build_app(
    settings: Settings,
    runtime: Runtime | None = None,
    sinks: Sinks | None = None,
    **overrides: Any,
) -> RiskLoopApp:
    """Create the app and its worker context, declare its topics and register every agent."""
    app = RiskLoopApp(settings, runtime, sinks, **{**faust_config(settings), **overrides})
    worker = app.worker
    rt = worker.runtime
    checkpoint = worker.checkpoint
    inputs = set(worker.topics.inputs())

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def _revoked(app_: Any, revoked: Any, **_: Any) -> None:
        rt.metrics.worker_ready.set(0)  # rebalancing: not consuming
        gone = {tp.partition for tp in revoked if tp.topic in inputs}
        try:  # what was absorbed here is written before another worker may take it
            await checkpoint.commit()
        except Exception as exc:  # the next owner redoes it from the last marker
            log.warning("checkpoint at revocation failed", error=f"{type(exc).__name__}: {exc}")
        for partition in gone:
            checkpoint.drop(partition)
        rt.release(gone)
        rt.event_clocks.forget()
        rt.clocks_sent.clear()

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def _assigned(app_: Any, assigned: Any, **_: Any) -> None:
        mine = {tp.partition for tp in assigned if tp.topic in inputs}
        for partition in set(worker.store.partitions) - mine:
            checkpoint.drop(partition)
        for partition in sorted(mine):
            if not checkpoint.held(partition):
                checkpoint.restoring(partition)
                app.add_future(_restore(worker, partition))
        if worker.control.ready.is_set():
            rt.metrics.worker_ready.set(1)

    pipeline.register(worker)
    web.register(worker)
    return app
