"""Drift events of the worker's models become operator events: a log line, a metric and a
status record on control.status, where hot-load outcomes already go.

The models decide (models/drift.py: ADWIN over scores and over the confirmed rate of their
alerts) and demote themselves to shadow when their alerts stop being true; this module only
tells people. A demoted model keeps scoring, but its verdicts are shadow ones (``alerts.shadow``,
no warning, no task) until a modeller publishes a version again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from streams.control import send_status, status_record
from streams.logs import get_logger

if TYPE_CHECKING:
    from streams.worker_context import WorkerContext

log = get_logger(__name__)


async def report_drift(worker: WorkerContext) -> int:
    """Publish the drift events the models queued since the last call; how many there were."""
    rt = worker.runtime
    if rt.models is None:
        return 0
    events = rt.models.pop_drift_events()
    versions = rt.models.versions()
    for event in events:
        rt.metrics.model_drift.labels(event.model, event.signal).inc()
        status = "demoted" if event.action == "demote" else "drift"
        log.warning(
            "model drift",
            model=event.model,
            signal=event.signal,
            action=event.action,
            message=event.message,
        )
        record = status_record(
            rt.worker_id,
            "model",
            event.model,
            versions.get(event.model, ""),
            status,
            event.message,
        )
        await send_status(worker, record)
    return len(events)
