"""The Faust application: built from one Settings object, with its topics and agents.

``build_app(settings)`` is the only way an app comes to be, so a test, the demo and a worker
each get exactly the configuration they pass in (no module-level app reading the environment).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import faust

from config.settings import Settings
from schemas.dedup import DedupWindow
from streams import tables
from streams.control import ControlState
from streams.health import RiskLoopAgent
from streams.metrics import Metrics
from streams.once import Mode
from streams.runtime import Runtime, build_runtime
from streams.tables import Tables
from streams.topics import Topics, declare


class RiskLoopApp(faust.App):
    """A Faust app that carries its RiskLoop settings and topics."""

    riskloop_settings: Settings
    riskloop_topics: Topics
    riskloop_runtime: Runtime
    riskloop_tables: Tables
    riskloop_committing: dict[str, int]
    riskloop_dedup: DedupWindow
    riskloop_sinks: Any
    riskloop_control: ControlState


def faust_config(settings: Settings) -> dict[str, Any]:
    """Faust keyword settings derived from ours."""
    return {
        "broker": settings.kafka_broker,
        "store": settings.store_url,
        "datadir": str(settings.data_dir),
        "web_host": settings.web_host,
        "web_bind": settings.web_host,
        "web_port": settings.web_port,
        "web_enabled": True,
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


def _counter(metrics: Metrics, table: str) -> Callable[[Mode], None]:
    return lambda mode: metrics.redelivered.labels(table, mode.value).inc()


def build_app(settings: Settings, runtime: Runtime | None = None, **overrides: Any) -> RiskLoopApp:
    """Create the app, declare its topics and register every agent."""
    conf = {**faust_config(settings), **overrides}
    app = RiskLoopApp(settings.app_id, **conf)
    app.riskloop_settings = settings
    app.riskloop_topics = declare(app, settings)
    app.riskloop_committing = {}  # offsets of the commit in flight (streams/consumer.py)
    app.riskloop_tables = tables.declare(app, settings.topics.partitions, app.riskloop_committing)
    app.riskloop_runtime = runtime or build_runtime(settings)
    app.riskloop_runtime.worker_id = worker_identity(settings)
    app.riskloop_runtime.event_clocks.store = app.riskloop_tables.clocks
    for name in tables.TABLE_NAMES:
        journal = getattr(app.riskloop_tables, name)
        journal.on_redelivered = _counter(app.riskloop_runtime.metrics, name)
        journal.on_truncated = app.riskloop_runtime.metrics.journal_truncated.labels(name).inc
    app.riskloop_dedup = DedupWindow(app.riskloop_tables.dedup, settings.dedup_window_seconds)
    app.riskloop_sinks = None
    app.riskloop_control = ControlState()
    app.riskloop_control.ready.set()  # no control plane unless the runner starts one

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def _forget_revoked(app_: Any, revoked: Any, **_: Any) -> None:
        app.riskloop_runtime.warnings_cache.clear()  # another worker may own them now
        app.riskloop_runtime.event_clocks.forget()
        app.riskloop_runtime.clocks_sent.clear()
        for journal in app.riskloop_tables.journals():
            journal.forget()  # what comes next after a rebalance is redelivered
        app.riskloop_runtime.metrics.worker_ready.set(0)  # rebalancing: not consuming

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def _forget_assigned(app_: Any, assigned: Any, **_: Any) -> None:
        app.riskloop_runtime.warnings_cache.clear()  # recovered tables are the truth
        if app.riskloop_control.ready.is_set():
            app.riskloop_runtime.metrics.worker_ready.set(1)

    from streams import pipeline, web

    pipeline.register(app)
    web.register(app)
    return app
