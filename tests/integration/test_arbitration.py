"""Arbitration (仲裁) is resolved on the real broker (issue "Built but never connected").

A task its department returns until nobody is left lands in arbitration with the risk centre.
Before, nothing could take it out again: ``assign`` existed only in the pure state machine.
Now the risk centre assigns it — once with ``riskloop tasks assign``, once with
``POST /api/tasks/{id}/assignments`` (operator token) — as an ``assign`` disposition on
tasks.dispositions; the owning worker moves the task to the chosen department's topic and
records the decision (who, why) on tasks.events and in the SQL audit trail.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import requests

from schemas.records import TaskState
from schemas.validation.uscc import make_uscc
from sinks.sql import SqlStore
from streams.admin import admin_client
from tests.integration.conftest import ROOT, collect, produce, settings_env, tail_consumer
from tests.integration.test_closed_loop import dispose
from tests.people import PEOPLE, auth

if TYPE_CHECKING:
    from collections.abc import Callable

    from config.settings import Settings

TARGET = "hz_market"


def _inspection(uscc: str, n: int) -> tuple[bytes, bytes]:
    body = {
        "event_id": f"arb-{uscc}-{n}",
        "event_time": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "uscc": uscc,
        "entity_name": "杭州仲裁测试餐饮有限公司",
        "region_code": "330106",
        "item_code": "YJ-ZFJC-001",
        "outcome": "fail",
        "critical_count": 2,
    }
    return uscc.encode(), json.dumps(body, ensure_ascii=False).encode()


def _events(msgs: list[tuple[str, dict[str, Any]]], topic: str, task_id: str) -> list[dict]:
    return [v for t, v in msgs if t == topic and v.get("task_id") == task_id and "to_state" in v]


def test_the_risk_centre_assigns_a_task_in_arbitration(
    live_settings: Settings, worker: Callable[..., Any]
) -> None:
    s = live_settings
    prefix = s.topics.task_prefix
    listed = admin_client(s).list_topics(timeout=10).topics
    task_topics = [t for t in listed if t.startswith(prefix) and t != s.topics.task_events]
    assert f"{prefix}{TARGET}" in task_topics
    watch = tail_consumer(s.bootstrap_servers, [s.topics.task_events, *task_topics])
    deadletters = tail_consumer(s.bootstrap_servers, [s.topics.deadletter])
    worker(s)

    run = uuid.uuid4().hex[:6]
    usccs = [make_uscc(f"arb-{run}-{i}", "330106") for i in range(2)]
    produce(s.bootstrap_servers, s.topics.inspections, [_inspection(u, 0) for u in usccs])
    msgs = collect(
        watch, lambda m: sum(t in task_topics and "alert_id" in v for t, v in m) >= 2, timeout=90
    )
    tasks = {v["entity"]: v for t, v in msgs if t in task_topics and "alert_id" in v}
    assert set(tasks) == set(usccs), "each failed inspection opens one task"

    # Each department returns its task until it reaches arbitration.
    def rerouted(m: list[tuple[str, dict[str, Any]]], task_id: str) -> bool:
        """Where a return leads: the next department, or arbitration."""
        return any(
            e["to_state"] in ("dispatched", "arbitration")
            for e in _events(m, s.topics.task_events, task_id)
        )

    for task in tasks.values():
        holder, task_id = task["department"], task["task_id"]
        while True:
            dispose(
                s, task_id, holder, "return", after=task["created_at"], reason="不属于本部门管辖"
            )
            got = collect(watch, lambda m, t=task_id: rerouted(m, t))
            msgs += got
            last = _events(got, s.topics.task_events, task_id)[-1]
            if last["to_state"] == TaskState.arbitration.value:
                break
            holder = last["department"]

    cli_task, api_task = tasks_ids = [tasks[u]["task_id"] for u in usccs]
    # the CLI, as the risk centre's director would run it
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams",
            "tasks",
            "assign",
            cli_task,
            "--department",
            TARGET,
            "--actor",
            "director-chen",
            "--reason",
            "省局裁定：由杭州市局办理",
        ],
        cwd=ROOT,
        env=settings_env(s),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # the API: the risk centre only; a department's handler or an operator is refused, an
    # unknown department too; the actor recorded is the token's supervisor
    url = f"http://127.0.0.1:{s.web_port}/api/tasks/{api_task}/assignments"
    body = {"department": TARGET, "reason": "跨区域，指定市局"}
    for who in ("hz_handler", "operator"):
        assert requests.post(url, json=body, headers=auth(s, who), timeout=10).status_code == 403
    bad = requests.post(
        url, json={**body, "department": "nowhere"}, headers=auth(s, "supervisor"), timeout=10
    )
    assert bad.status_code == 422
    assert "nowhere" in bad.json()["error"]
    ok = requests.post(url, json=body, headers=auth(s, "supervisor"), timeout=60)
    assert ok.status_code == 200, ok.text
    assert ok.json()["disposition"]["action"] == "assign"
    assert ok.json()["verdict"]["outcome"] == "applied"
    assert ok.json()["verdict"]["department"] == TARGET

    def assigned(m: list[tuple[str, dict[str, Any]]], task_id: str) -> bool:
        return any(
            e["from_state"] == "arbitration" and e["to_state"] == "dispatched"
            for e in _events(m, s.topics.task_events, task_id)
        )

    def delivered(m: list[tuple[str, dict[str, Any]]], task_id: str) -> bool:
        return any(
            t == f"{prefix}{TARGET}" and v.get("task_id") == task_id and v["state"] == "dispatched"
            for t, v in m
        )

    msgs += collect(
        watch,
        lambda m: all(assigned(msgs + m, t) and delivered(msgs + m, t) for t in tasks_ids),
        timeout=60,
    )
    for task_id, actor in ((cli_task, "director-chen"), (api_task, PEOPLE["supervisor"].actor)):
        (event,) = [
            e
            for e in _events(msgs, s.topics.task_events, task_id)
            if e["from_state"] == "arbitration"
        ]
        assert (event["to_state"], event["department"], event["actor"]) == (
            "dispatched",
            TARGET,
            actor,
        )
        assert event["reason"]
        sent = [v for t, v in msgs if t == f"{prefix}{TARGET}" and v.get("task_id") == task_id]
        assert sent, "the task reaches its new department"
        assert sent[-1]["state"] == "dispatched", "the task reaches its new department"

    # a second assignment of the same task is no longer valid: refused with its reason (exit 1)
    # and dead-lettered
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams",
            "tasks",
            "assign",
            cli_task,
            "--department",
            TARGET,
            "--actor",
            "director-chen",
            "--reason",
            "again",
        ],
        cwd=ROOT,
        env=settings_env(s),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 1, again.stderr
    assert "invalid_transition" in again.stderr, again.stderr

    def refused(m: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        return [v for _, v in m if "cannot assign" in v.get("message", "")]

    dead = refused(collect(deadletters, lambda m: bool(refused(m)), timeout=45))
    assert dead
    assert dead[0]["reason"] == "invalid_transition"

    # the audit trail in SQL (the worker's SQLite store) holds the decision
    store = SqlStore.from_settings(s)
    try:
        deadline = time.monotonic() + 45
        while True:
            story = store.task_with_audit(cli_task)
            rows = [e for e in (story.events if story else []) if e.actor == "director-chen"]
            if rows or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        store.close()
    assert rows
    assert rows[0].to_state is TaskState.dispatched
    assert rows[0].department == TARGET
    watch.close()
    deadletters.close()


pytestmark = pytest.mark.timeout(240)
