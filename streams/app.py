"""The Faust application: built from one Settings object, with its topics and agents.

``build_app(settings)`` is the only way an app comes to be, so a test, the demo and a worker
each get exactly the configuration they pass in (no module-level app reading the environment).
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import faust

from config.settings import Settings
from schemas.dedup import DedupWindow
from streams import tables
from streams.checkpoint import Checkpoint, changelog_topic, read_partition, replay_changelog
from streams.control import ControlState
from streams.dedup import BucketedIds
from streams.health import RiskLoopAgent
from streams.logs import get_logger
from streams.model_state import PartitionModels
from streams.runtime import Runtime, build_runtime
from streams.state import Store
from streams.tables import Tables
from streams.topics import Topics, declare

log = get_logger(__name__)


class RiskLoopApp(faust.App):
    """A Faust app that carries its RiskLoop settings and topics."""

    riskloop_settings: Settings
    riskloop_topics: Topics
    riskloop_runtime: Runtime
    riskloop_tables: Tables
    riskloop_store: Store
    riskloop_checkpoint: Checkpoint
    riskloop_dedup: DedupWindow
    riskloop_sinks: Any
    riskloop_control: ControlState


def faust_config(settings: Settings) -> dict[str, Any]:
    """Faust keyword settings derived from ours."""
    return {
        "broker": settings.kafka_broker,
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
        "consumer_auto_offset_reset": "earliest",
        "producer_acks": -1,
        # static membership (KIP-345): a worker restarted under the same identity takes its
        # partitions back at once, instead of waiting out the dead session and rebalancing
        # twice (after which Faust can leave never-committed partitions unread)
        "consumer_group_instance_id": worker_identity(settings),
        "Agent": RiskLoopAgent,  # counts and logs every agent crash (streams/health.py)
    }


def worker_identity(settings: Settings) -> str:
    """One worker's stable name: app, host and HTTP port (two workers on a host differ)."""
    return f"{settings.app_id}@{socket.gethostname()}:{settings.web_port}"


def _checkpoint(app: RiskLoopApp) -> Checkpoint:
    """The app's checkpoint: Faust's producer for the changelog, the sinks drained before it."""
    settings = app.riskloop_settings
    metrics = app.riskloop_runtime.metrics

    async def send(topic: str, key: bytes, value: bytes | None, partition: int) -> Any:
        return await app.producer.send(topic, key, value, partition, None, None)

    async def drain() -> bool:
        sinks = app.riskloop_sinks
        return True if sinks is None else bool(await sinks.drain(timeout=settings.sink_wait))

    def observed(records: int, size: int, seconds: float) -> None:
        metrics.checkpoint_records.inc(records)
        metrics.checkpoint_bytes.inc(size)
        metrics.checkpoint_seconds.observe(seconds)

    return Checkpoint(
        store=app.riskloop_store, topic=changelog_topic(settings.app_id), send=send,
        flush=app.producer.flush, drain=drain, on_checkpoint=observed,
        worker=app.riskloop_runtime.worker_id,
    )  # fmt: skip


async def _restore(app: RiskLoopApp, partition: int) -> None:
    """Read one partition's state back from the changelog (in a thread), then let its events
    through (streams/checkpoint.py). A failure is retried: the partition waits meanwhile."""
    settings = app.riskloop_settings
    topic = changelog_topic(settings.app_id)
    delay = 1.0
    while True:
        try:
            records = await asyncio.to_thread(
                read_partition, settings.bootstrap_servers, topic, partition
            )
            break
        except Exception as exc:
            app.riskloop_runtime.metrics.restore_failures.inc()
            log.warning("state restore failed; retrying", partition=partition,
                        error=f"{type(exc).__name__}: {exc}", retry_in=delay)  # fmt: skip
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
    restored = replay_changelog(records)
    app.riskloop_checkpoint.take(partition, restored)
    log.info(
        "partition state restored", partition=partition, records=restored.records,
        keys=sum(len(t) for t in restored.state.tables.values()), torn=restored.torn,
        skipped=restored.bad,
    )  # fmt: skip


def build_app(settings: Settings, runtime: Runtime | None = None, **overrides: Any) -> RiskLoopApp:
    """Create the app, declare its topics and register every agent."""
    conf = {**faust_config(settings), **overrides}
    app = RiskLoopApp(settings.app_id, **conf)
    app.riskloop_settings = settings
    app.riskloop_topics = declare(app, settings)
    app.riskloop_store = Store(settings.memory.hot_bytes)
    app.riskloop_tables = tables.declare(app.riskloop_store)
    app.riskloop_runtime = runtime or build_runtime(settings)
    rt = app.riskloop_runtime
    rt.worker_id = worker_identity(settings)
    rt.event_clocks.store = app.riskloop_tables.clocks
    app.riskloop_checkpoint = _checkpoint(app)
    if isinstance(rt.models, PartitionModels):  # the models are partition state too
        rt.models.store = app.riskloop_store
        app.riskloop_checkpoint.models = rt.models.records
    app.riskloop_dedup = DedupWindow(BucketedIds(app.riskloop_store), settings.dedup_window_seconds)
    app.riskloop_sinks = None
    app.riskloop_control = ControlState()
    app.riskloop_control.ready.set()  # no control plane unless the runner starts one
    inputs = set(app.riskloop_topics.inputs())

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def _revoked(app_: Any, revoked: Any, **_: Any) -> None:
        rt.metrics.worker_ready.set(0)  # rebalancing: not consuming
        gone = {tp.partition for tp in revoked if tp.topic in inputs}
        try:  # what was absorbed here is written before another worker may take it
            await app.riskloop_checkpoint.commit()
        except Exception as exc:  # the next owner redoes it from the last marker
            log.warning("checkpoint at revocation failed", error=f"{type(exc).__name__}: {exc}")
        for partition in gone:
            app.riskloop_checkpoint.drop(partition)
        rt.event_clocks.forget()
        rt.clocks_sent.clear()

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def _assigned(app_: Any, assigned: Any, **_: Any) -> None:
        mine = {tp.partition for tp in assigned if tp.topic in inputs}
        for partition in set(app.riskloop_store.partitions) - mine:
            app.riskloop_checkpoint.drop(partition)
        for partition in sorted(mine):
            if not app.riskloop_checkpoint.held(partition):
                app.riskloop_checkpoint.expect(partition).clear()
                app.add_future(_restore(app, partition))
        if app.riskloop_control.ready.is_set():
            rt.metrics.worker_ready.set(1)

    from streams import pipeline, web

    pipeline.register(app)
    web.register(app)
    return app
