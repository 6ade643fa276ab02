"""A 不属实 disposition lowers the next score of the same pattern (issue "Online models",
Done-when), on the real broker with a real worker.

One elevator streams normal readings (warm-up), then a current surge: the equipment model alerts,
the warning opens a task on the special-equipment department's topic, and the department signs,
starts and disposes it as a false alarm. The feedback agent teaches the model that pattern; the
same surge on the same elevator then scores lower (or no longer alerts at all). A smaller
``warmup`` is published on control.models before the worker starts, as `riskloop models publish`
would, so the warm-up takes seconds rather than the default 400 readings.
"""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import requests

from models.publication import ModelPublication, build
from streams.admin import admin_client
from streams.publish import send
from tests.integration.conftest import collect, produce, tail_consumer
from tests.integration.test_closed_loop import dispose, wait_caught_up

if TYPE_CHECKING:
    from collections.abc import Callable

    from config.settings import Settings

MODEL = "equipment-anomaly"
CODE = "31103301062020"
USCC = "913301056UTJDL9DLG"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=8)
WARMUP, SURGE, CALM = 120, 12, 40


def _reading(i: int, rng: random.Random, shift: float) -> tuple[bytes, bytes]:
    """Reading ``i`` of the elevator; ``shift`` amps more current (and speed with it)."""
    current = 10 + rng.gauss(0, 0.2) + shift
    body = {
        "event_id": f"{CODE}-{i}",
        "event_time": (T0 + timedelta(seconds=i)).isoformat(),
        "equipment_code": CODE,
        "equipment_type": "elevator",
        "uscc": USCC,
        "region_code": "330106",
        "metrics": {
            "current": current,
            "speed": 1.0 + 0.05 * (current - 10) + rng.gauss(0, 0.01),
            "vibration": 0.1 + rng.gauss(0, 0.01),
        },
    }
    return CODE.encode(), json.dumps(body).encode()


def _surge(start: int, rng: random.Random) -> tuple[list[tuple[bytes, bytes]], set[str]]:
    """SURGE readings 3 A above normal (15 standard deviations) and their event ids."""
    items = [_reading(start + i, rng, 3.0) for i in range(SURGE)]
    return items, {f"{CODE}-{start + i}" for i in range(SURGE)}


def _model_scores(msgs: list[tuple[str, dict[str, Any]]], ids: set[str]) -> list[float]:
    """Scores of the model's reasons on warning changes caused by one of ``ids``."""
    return [
        float(r["score"])
        for _, v in msgs
        if v.get("correlation_id") in ids
        for r in v.get("reasons", [])
        if r["kind"] == "model" and r["id"] == MODEL
    ]


def test_false_alarm_disposition_lowers_the_next_score_of_that_pattern(
    live_settings: Settings, worker: Callable[..., Any]
) -> None:
    s = live_settings
    pub = ModelPublication(
        name=MODEL,
        factory=MODEL,
        version="feedback-test-1",
        published_by="test",
        params={"warmup": 50, "min_scores": 30},
    )
    build(pub)
    send(s, s.topics.models, MODEL, pub.model_dump_json().encode())

    prefix = s.topics.task_prefix
    listed = admin_client(s).list_topics(timeout=10).topics
    task_topics = [t for t in listed if t.startswith(prefix) and t != s.topics.task_events]
    watch = tail_consumer(s.bootstrap_servers, [s.topics.alerts, *task_topics])
    worker(s)

    rng = random.Random(11)
    first, first_ids = _surge(WARMUP, rng)
    produce(
        s.bootstrap_servers,
        s.topics.equipment,
        [_reading(i, rng, 0.0) for i in range(WARMUP)] + first,
    )
    msgs = collect(
        watch, lambda m: any(t in task_topics and "alert_id" in v for t, v in m), timeout=60
    )
    before = _model_scores(msgs, first_ids)
    assert before, "the model raised no warning on the surge"
    topic, task = next((t, v) for t, v in msgs if t in task_topics and "alert_id" in v)
    assert topic == f"{prefix}{task['department']}"
    assert task["department"] == "hz_special_equipment"  # routing: equipment in Hangzhou

    # The warning carries the features of its latest reading: the surge's peak, once every
    # surge reading is scored. That is the pattern the department calls a false alarm.
    wait_caught_up(s, timeout=45)
    before = _model_scores(collect(watch, lambda _: False, timeout=1) + msgs, first_ids)

    t0 = task["created_at"]
    dispose(s, task["task_id"], task["department"], "sign", after=t0)
    dispose(s, task["task_id"], task["department"], "start", after=t0)
    dispose(
        s,
        task["task_id"],
        task["department"],
        "dispose",
        after=t0,
        result="false_alarm",
        evidence=["现场核查记录-电流正常.jpg"],
    )
    # The feedback agent publishes the false-alarm change, then teaches the model.
    settled = collect(
        watch,
        lambda m: any(v.get("state") == "false_alarm" for t, v in m if t == s.topics.alerts),
        timeout=45,
    )
    assert any(v.get("state") == "false_alarm" for _, v in settled), "no false-alarm change"
    time.sleep(1.0)  # learn_label runs right after that change is sent
    # counted per model version for the quality dashboard's precision by version
    metrics = requests.get(f"http://127.0.0.1:{s.web_port}/metrics", timeout=10).text
    counted = f'riskloop_model_dispositions_total{{model="{MODEL}",result="false_alarm",version="{pub.version}"}} 1.0'
    assert counted in metrics.splitlines(), [
        ln for ln in metrics.splitlines() if "model_dispositions" in ln
    ]

    # Calm readings first (the smoothed signal returns to normal), then the same surge.
    calm = [_reading(WARMUP + SURGE + i, rng, 0.0) for i in range(CALM)]
    second, second_ids = _surge(WARMUP + SURGE + CALM, rng)
    produce(s.bootstrap_servers, s.topics.equipment, calm + second)
    wait_caught_up(s, timeout=45)
    after_msgs = collect(watch, lambda _: False, timeout=2)  # drain what the surge raised
    watch.close()
    after = _model_scores(after_msgs, second_ids)
    # No warning at all, or one whose score is well below the untaught one.
    assert max(after, default=0.0) < 0.5 * max(before), (before, after)


pytestmark = pytest.mark.timeout(150)
