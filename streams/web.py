"""HTTP views on the worker (Faust web): /metrics for Prometheus, /health and /ready, and the
API (``streams.api``: warnings, tasks, profiles, silences, audited writes, /openapi.json)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST

from streams import api, health

if TYPE_CHECKING:
    from streams.worker_context import WorkerContext


def register(worker: WorkerContext) -> None:
    """Add ``/metrics``, ``/health``, ``/ready`` and the API to the worker's web server."""

    @worker.app.page("/metrics")
    class Metrics(View):
        async def get(self, request: Request) -> Response:
            # ``?name[]=a&name[]=b``: only those series (client_python's own filter)
            names = request.url.query.getall("name[]", [])
            return self.bytes(
                worker.runtime.metrics.exposition(names),
                headers={"Content-Type": CONTENT_TYPE_LATEST},
            )

    @worker.app.page("/health")
    class Health(View):
        async def get(self, request: Request) -> Response:
            # liveness: a restart cures a dead agent, not a missing broker or a slow recovery
            dead = health.agents_down(worker.app, started_only=True)
            body = {"status": "failing" if dead else "ok", "worker": worker.runtime.worker_id}
            return self.json({**body, "agents_down": dead}, status=503 if dead else 200)

    @worker.app.page("/ready")
    class Ready(View):
        async def get(self, request: Request) -> Any:
            state = health.readiness(worker)
            body = {**state.body(), "active": worker.runtime.active_versions()}
            return self.json(body, status=200 if state.ready else 503)

    api.register(worker)
