"""A verdict for every disposition, through the CLI and the API, on a real worker and broker.

Before, every disposition was answered "sent" / 202 — a wrong department, a dispose before
``start``, a task that does not exist — and the worker dead-lettered it in silence; a client
that retried after an error submitted twice. Here the worker's verdict on ``tasks.verdicts``
comes back: a refusal is a non-zero exit or a 4xx with the worker's reason, and a retried POST
with the same Idempotency-Key (or CLI key) is applied once.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests

from schemas.validation.uscc import make_uscc
from tests.integration.conftest import (
    collect,
    produce,
    run_cli,
    tail_consumer,
    wait_ready,
)
from tests.people import PEOPLE, auth

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable

    from config.settings import Settings

DEPARTMENT = "hz_market_food"  # config/routing.yaml: inspections YJ-ZFJC-* in Hangzhou


def failed_inspection(run: str) -> tuple[bytes, bytes]:
    uscc = make_uscc(f"verdict-{run}", "330106")
    event = {
        "event_id": f"verdict-{run}",
        "event_time": (datetime.now(UTC) - timedelta(minutes=30)).isoformat(),
        "uscc": uscc,
        "entity_name": "杭州测试餐饮店",
        "region_code": "330106",
        "item_code": "FOOD-INSP-01",
        "outcome": "fail",
        "critical_count": 1,
    }
    return uscc.encode(), json.dumps(event, ensure_ascii=False).encode()


def cli(s: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(s, "tasks", *args)


def test_refusals_say_why_and_a_retried_post_applies_once(
    live_settings: Settings, worker: Callable[..., Any]
) -> None:
    s = live_settings
    dept = auth(s, "hz_food_handler")  # a handler of DEPARTMENT
    assert PEOPLE["hz_food_handler"].department == DEPARTMENT
    events = tail_consumer(s.bootstrap_servers, [s.topics.task_events])
    base = f"http://127.0.0.1:{s.web_port}"
    wait_ready(worker(s), base)
    produce(s.bootstrap_servers, s.topics.inspections, [failed_inspection(uuid.uuid4().hex[:8])])
    opened = collect(
        events, lambda m: any(v.get("to_state") == "dispatched" for _, v in m), timeout=120
    )
    (task_id,) = {v["task_id"] for _, v in opened if v.get("to_state") == "dispatched"}

    # CLI: a task nobody holds, and the wrong department: exit 1 with the worker's reason
    nope = cli(s, "dispose", "task-nope", "--department", DEPARTMENT, "--action", "sign")
    assert nope.returncode == 1, nope.stdout + nope.stderr
    assert "unknown_task" in nope.stderr
    assert "Traceback" not in nope.stderr
    wrong = cli(s, "dispose", task_id, "--department", "hz_fire", "--action", "sign")
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    assert "wrong_department" in wrong.stderr
    assert DEPARTMENT in wrong.stderr

    # API: disposing before sign/start is a 409 naming the transition; task-nope a 404
    dispose = {
        "department": DEPARTMENT,
        "action": "dispose",
        "result": "rectification",
        "evidence": ["photo:1.jpg"],
    }
    early = requests.post(
        f"{base}/api/tasks/{task_id}/dispositions", json=dispose, headers=dept, timeout=60
    )
    assert early.status_code == 409, early.text
    assert early.json()["verdict"]["reason"] == "invalid_transition"
    assert "cannot dispose a task that is dispatched" in early.json()["error"]
    missing = requests.post(
        f"{base}/api/tasks/task-nope/dispositions", json=dispose, headers=dept, timeout=60
    )
    assert missing.status_code == 404, missing.text

    # API: the same Idempotency-Key twice (a client retrying) is applied once
    sign = {"action": "sign"}
    key = {**dept, "Idempotency-Key": f"sign-{task_id}"}
    first = requests.post(
        f"{base}/api/tasks/{task_id}/dispositions", json=sign, headers=key, timeout=60
    )
    again = requests.post(
        f"{base}/api/tasks/{task_id}/dispositions", json=sign, headers=key, timeout=60
    )
    assert first.status_code == 200, (first.text, again.text)
    assert again.status_code == 200, (first.text, again.text)
    assert first.json()["verdict"]["outcome"] == "applied"
    assert first.json()["verdict"]["state"] == "signed"
    assert again.json()["verdict"]["outcome"] == "duplicate"
    assert first.json()["disposition"]["event_id"] == again.json()["disposition"]["event_id"]

    # CLI: the same --idempotency-key twice: applied, then "duplicate", both exit 0
    start = (
        "dispose",
        task_id,
        "--department",
        DEPARTMENT,
        "--action",
        "start",
        "--idempotency-key",
        "start-1",
    )
    one, two = cli(s, *start), cli(s, *start)
    assert one.returncode == 0, (one.stderr, two.stderr)
    assert two.returncode == 0, (one.stderr, two.stderr)
    assert one.stdout.startswith(f"applied start for {task_id}"), one.stdout
    assert "in_progress" in one.stdout
    assert two.stdout.startswith(f"duplicate start for {task_id}"), two.stdout

    moved = collect(
        events,
        lambda m: sum(v.get("to_state") == "in_progress" for _, v in m) >= 1,
        timeout=30,
    )
    transitions = [v["to_state"] for _, v in opened + moved if v["task_id"] == task_id]
    assert transitions.count("signed") == 1
    assert transitions.count("in_progress") == 1
    events.close()
