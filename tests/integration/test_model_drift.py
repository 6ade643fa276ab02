"""Model drift through a real worker (issue: working days, point 4): a shift in an online
model's scores is found while scoring and reported within a tick — the log, the metric
``riskloop_model_drift_total`` and a ``drift`` status record on control.status. (Demotion on a
falling confirmed rate goes through the same report, from the feedback agent; it needs dozens
of model-raised tasks disposed and is tested in tests/streams/test_drift.py.)"""

from __future__ import annotations

import json
import random
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from schemas.sample_stream import generate
from tests.integration.test_closed_loop import produce, read_topic, wait_caught_up

if TYPE_CHECKING:
    from config.settings import Settings

pytestmark = pytest.mark.timeout(420)


def readings(n: int, start: datetime, shift: float) -> list[dict[str, Any]]:
    """One elevator's readings, steady then (``shift``) with vibration and current far off."""
    base = next(e.event for e in generate(100, seed=3) if e.source == "equipment")
    rng = random.Random(5)
    out = []
    for i in range(n):
        scale = shift if i >= n // 2 else 1.0
        metrics = {
            "vibration": round(0.3 * scale + rng.gauss(0, 0.02), 4),
            "current": round(13.8 * scale + rng.gauss(0, 0.3), 3),
            "speed": round(1.5 + rng.gauss(0, 0.02), 3),
            "load": round(700 + rng.gauss(0, 40), 1),
        }
        when = (start + timedelta(seconds=30 * i)).isoformat()
        out.append(
            {
                **base,
                "event_id": f"drift-{i}",
                "event_time": when,
                "metrics": metrics,
                "door_faults": 0,
                "trapped": False,
            }
        )
    return out


def test_a_shift_in_a_models_scores_is_reported(live_settings: Settings, worker: Any) -> None:
    s = live_settings.with_overrides(models_enabled=True, timer_interval=0.5)
    worker(s)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=9)
    items = [
        ("equipment", r["equipment_code"], json.dumps(r).encode())
        for r in readings(1000, start, shift=6.0)
    ]
    produce(s, items)
    wait_caught_up(s, timeout=240)
    deadline, count = time.monotonic() + 60, 0.0
    while time.monotonic() < deadline and not count:
        with urllib.request.urlopen(f"http://127.0.0.1:{s.web_port}/metrics", timeout=10) as r:
            lines = r.read().decode().splitlines()
        count = sum(
            float(ln.split()[-1])
            for ln in lines
            if ln.startswith("riskloop_model_drift_total{") and 'signal="score"' in ln
        )
        time.sleep(1)
    assert count >= 1, "no score drift reported"
    status = [v for _, v in read_topic(s, [s.topics.status]) if v.get("status") == "drift"]
    assert status, status
    assert all(v["kind"] == "model" for v in status), status
