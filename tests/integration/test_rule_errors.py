"""A rule that cannot evaluate an event is counted on the worker's /metrics (issue "Built but
never connected"): ``riskloop_rule_errors_total`` is what the ``RiskLoopRuleErrors`` alert reads,
and before this it never moved, because the engine swallowed the error and nobody asked.

A pack whose condition reads ``event.score`` is published; inspection results carry no score,
so each one makes the condition fail at run time (no fire) and must add one to the counter.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from schemas.validation.uscc import make_uscc
from streams.publish import publish_pack
from tests.integration.conftest import produce, tail_consumer
from tests.integration.test_hotload import wait_status

if TYPE_CHECKING:
    from pathlib import Path

    from config.settings import Settings

PACK = """\
name: {name}
version: 1.0.0
owner: test
description: a rule that reads a field inspection results do not carry
rules:
  - id: {rule}
    title: 缺字段探针
    sources: [inspections]
    item_code: PROBE
    condition: event.score > 50.0
    level: blue
    score: 10
    examples:
      - name: fires on a high score
        fire: true
        event: {{score: 60.0}}
      - name: silent on a low score
        fire: false
        event: {{score: 10.0}}
"""


def rule_errors(port: int, rule: str) -> float:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    for line in body.splitlines():
        if line.startswith("riskloop_rule_errors_total{") and f'rule="{rule}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_rule_that_cannot_evaluate_is_counted(
    live_settings: Settings, worker: Any, tmp_path: Path
) -> None:
    s = live_settings
    run = uuid.uuid4().hex[:8]
    name, rule = f"errprobe-{run}", f"errprobe{run}.score"
    path = tmp_path / "errprobe.yaml"
    path.write_text(PACK.format(name=name, rule=rule), encoding="utf-8")
    status = tail_consumer(s.bootstrap_servers, [s.topics.status])
    publish_pack(s, path, "test")
    worker()
    wait_status(s, status, name, "1.0.0", "active", timeout=90)

    uscc = make_uscc(f"err-{run}", "330106")
    at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    events = [
        {
            "event_id": f"err-{run}-{i}",
            "event_time": at,
            "uscc": uscc,
            "region_code": "330106",
            "entity_name": "杭州缺字段测试餐饮有限公司",
            "item_code": "X",
            "outcome": "pass",
        }
        for i in range(3)
    ]
    produce(
        s.bootstrap_servers,
        s.topics.inspections,
        [(uscc.encode(), json.dumps(e, ensure_ascii=False).encode()) for e in events],
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and rule_errors(s.web_port, rule) < 3:
        time.sleep(0.5)
    assert rule_errors(s.web_port, rule) == 3


pytestmark = pytest.mark.timeout(150)
