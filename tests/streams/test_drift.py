"""Drift demotes a model and tells people (issue "Built but never connected").

The drift watch existed in models/ but no worker fed it: a model whose alerts stopped being true
kept opening tasks. Here the worker's own runtime gets the dispositions' labels the way the
feedback agent passes them (``WorkerModels.observe_disposition``), and ``report_drift`` turns the
queued event into a metric and a ``demoted`` status on control.status; the demoted model's next
verdict is a shadow one.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from streams import control
from streams.drift import report_drift

if TYPE_CHECKING:
    from streams.app import RiskLoopApp


class StatusRecorder:
    """Stands in for the control plane's producer: keeps what would go to control.status."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, dict[str, Any]]] = []
        self.raw: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]] = []

    async def send_and_wait(
        self, topic: str, *, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
    ) -> None:
        self.raw.append((topic, key, value, headers))
        self.sent.append((topic, key, json.loads(value)))


async def test_a_falling_confirmed_rate_demotes_counts_and_reports(app: RiskLoopApp) -> None:
    rt = app.worker.runtime
    status = StatusRecorder()
    app.worker.control.producer = status  # type: ignore[assignment]
    name = "equipment-anomaly"
    model = rt.models.registry.get(name)
    assert not model.shadow
    for i in range(400):
        rt.models.observe_disposition(name, i < 200)
    assert model.shadow, "a collapsed confirmed rate demotes the model to shadow"

    assert await report_drift(app.worker) >= 1
    drift = rt.metrics.registry.get_sample_value(
        "riskloop_model_drift_total", {"model": name, "signal": "confirmed_rate"}
    )
    assert drift is not None
    assert drift >= 1
    demoted = [r for t, _, r in status.sent if t == app.worker.settings.topics.status]
    assert demoted
    assert demoted[0]["status"] == "demoted"
    assert demoted[0]["name"] == name
    assert "demoted to shadow" in demoted[0]["reason"]
    ring = control.keyring(app.worker)
    assert all(ring.verify(*sent).ok for sent in status.raw), "status records are signed"
    assert await report_drift(app.worker) == 0  # reported once

    reading = {
        "event_id": "r1",
        "event_time": "2026-03-02T08:00:00Z",
        "equipment_code": "E1",
        "equipment_type": "elevator",
        "uscc": "91110108MA01ABCD2X",
        "metrics": {"current": 10.0, "speed": 1.0, "vibration": 0.1},
    }
    (verdict,) = rt.models.process("equipment", model.coerce(reading))
    assert verdict.mode == "shadow", "its hits go to alerts.shadow, not to warnings or tasks"
