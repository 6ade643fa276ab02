"""Running a worker process: logging, broker check, topics, the Faust Worker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from faust.worker import Worker

from infra.process import ensure_port_free
from streams import consumer, health, logs, memory
from streams.admin import create_topics, require_broker
from streams.control import run_control_plane
from streams.control_keyring import load_keyring
from streams.logs import get_logger
from streams.notify import run_sender
from streams.runtime import build_runtime
from streams.worker_sinks import WorkerSinks

if TYPE_CHECKING:
    from config.settings import Settings

log = get_logger(__name__)


class RiskLoopWorker(Worker):
    """Faust's Worker with our structured logging instead of its own formatter."""

    riskloop_settings: Settings

    def _setup_logging(self) -> None:
        logs.configure(self.riskloop_settings)


def make_worker(settings: Settings) -> RiskLoopWorker:
    """The Faust worker for ``settings``: the app with its sinks, notification sender, control
    plane, commit hook and health probe wired, ready to run; ``run_worker`` and the crash tests'
    worker script start it."""
    from streams.app import build_app

    if settings.memory.malloc_arenas:
        memory.bound_arenas(settings.memory.malloc_arenas)  # before the threads make their own
    runtime = build_runtime(settings)
    outputs = WorkerSinks(settings, runtime.metrics)
    app = build_app(settings, runtime, sinks=outputs)
    context = app.worker

    if settings.memory.trim_interval:

        @app.timer(settings.memory.trim_interval, name="trim_memory")
        async def trim_memory() -> None:
            memory.trim()

    @app.task
    async def start_outputs() -> None:
        await outputs.start()

    if settings.memory.gc_young:

        @app.task
        async def settle_collector() -> None:
            """Once started: what is alive now lives as long as the process (streams/memory.py)."""
            memory.settle_collector(settings.memory.gc_young)

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def stop_outputs(app_: Any, **_: Any) -> None:
        await outputs.stop()

    if runtime.notify is not None:

        @app.task
        async def notification_sender() -> None:
            await run_sender(context)

    consumer.install(
        app.consumer, context.checkpoint, runtime.metrics, settings.topics.sources().values()
    )
    context.control.ready.clear()
    context.control.keyring = load_keyring(settings)  # a bad key file stops the start
    health.install(context)  # broker probe; riskloop_worker_ready follows /ready

    @app.task
    async def control_plane() -> None:
        try:
            await run_control_plane(context)
        except Exception:
            log.exception("control plane failed; hot-loading stopped")
            raise

    worker = RiskLoopWorker(
        app, loglevel=settings.log_level.lower(), quiet=True, redirect_stdouts=False
    )
    worker.riskloop_settings = settings
    return worker


def run_worker(settings: Settings) -> None:
    """Check the broker, make sure the topics exist, then run until SIGINT/SIGTERM."""
    logs.configure(settings)
    ensure_port_free(settings.web_port, "the worker's HTTP server (set RISKLOOP_WEB_PORT)")
    require_broker(settings)
    create_topics(settings)
    make_worker(settings).execute_from_commandline()
