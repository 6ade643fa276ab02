"""A verdict for every disposition, through the CLI and the API, on a real worker and broker.

Before, every disposition was answered "sent" / 202 — a wrong department, a dispose before
``start``, a task that does not exist — and the worker dead-lettered it in silence; a client
that retried after an error submitted twice. Here the worker's verdict on ``tasks.verdicts``
comes back: a refusal is a non-zero exit or a 4xx with the worker's reason, and a retried POST
with the same Idempotency-Key (or CLI key) is applied once.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest
import requests
from pydantic import SecretStr

from bench.chaos import database, own_stack, space
from config.settings import Settings
from infra import kafka
from sinks.sql import SqlStore, make_engine
from tests.integration.conftest import (
    collect,
    failed_inspection_record,
    produce,
    run_cli,
    tail_consumer,
    wait_ready,
)
from tests.people import PEOPLE, auth, token

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable
    from pathlib import Path

DEPARTMENT = "hz_market_food"  # config/routing.yaml: inspections YJ-ZFJC-* in Hangzhou


def failed_inspection(run: str) -> tuple[bytes, bytes]:
    return failed_inspection_record(f"verdict-{run}", name="杭州测试餐饮店")


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

    # the CLI as a person (RISKLOOP_API_TOKEN): through the API, which checks the token's
    # department and records the token's person, never a --by
    li = s.with_overrides(api_token=SecretStr(token(s, "hz_food_handler")))
    done = cli(li, "dispose", task_id, "--action", "dispose", "--result", "rectification",
               "--evidence", "photo:2.jpg", "--idempotency-key", "dispose-1")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"applied dispose for {task_id}"), done.stdout
    assert f"(as {PEOPLE['hz_food_handler'].actor})" in done.stdout
    ningbo = cli(s.with_overrides(api_token=SecretStr(token(s, "nb_handler"))), "dispose", task_id,
                 "--action", "sign")  # fmt: skip
    assert ningbo.returncode == 1, ningbo.stdout
    assert "held by another department" in ningbo.stderr
    assert "Traceback" not in ningbo.stderr
    claimed = cli(li, "dispose", task_id, "--action", "reopen", "--by", "someone else")
    assert claimed.returncode == 1
    assert "--by: with RISKLOOP_API_TOKEN" in claimed.stderr
    audit = collect(
        events, lambda m: any(v.get("actor") == PEOPLE["hz_food_handler"].actor for _, v in m), 30
    )
    assert [v["task_id"] for _, v in audit if v.get("actor") == PEOPLE["hz_food_handler"].actor]
    assert transitions.count("in_progress") == 1
    events.close()


@pytest.mark.timeout(600)
def test_a_disposition_retried_across_a_broker_outage_is_applied_once(
    broker: str, tmp_path: Path
) -> None:
    """A department signs for a task while the broker is down: the API answers at once that it
    could not be sure (503, or 202 sent without a verdict), never a traceback; the client
    retries with the same Idempotency-Key once the broker is back, and the task is signed once
    — whether or not the first request's record reached the broker late. Our OWN broker
    (``bench.chaos.own_stack``), stopped and started for real; the shared one is never touched."""
    base = Settings(_env_file=None)  # type: ignore[call-arg]
    with own_stack(base.dev, ["kafka"]) as dev, database(base.dev) as url:
        own = f"kafka://127.0.0.1:{dev.kafka_port}"
        with space(base, tmp_path, sql_url=url, kafka_broker=own) as sp:
            s = sp.settings
            web = f"http://127.0.0.1:{s.web_port}"
            wait_ready(sp.start_worker(), web, timeout=120)
            events = tail_consumer(s.bootstrap_servers, [s.topics.task_events])
            produce(s.bootstrap_servers, s.topics.inspections, [failed_inspection("outage")])
            opened = collect(
                events, lambda m: any(v.get("to_state") == "dispatched" for _, v in m), 120
            )
            events.close()
            (task_id,) = {v["task_id"] for _, v in opened if v.get("to_state") == "dispatched"}
            sign = f"{web}/api/tasks/{task_id}/dispositions"
            key = {**auth(s, "hz_food_handler"), "Idempotency-Key": f"sign-{task_id}"}

            kafka.stop(dev)
            during = requests.post(sign, json={"action": "sign"}, headers=key, timeout=180)
            print(f"during the outage: {during.status_code} {during.text[:160]}")
            assert during.status_code in (202, 503), during.text
            assert "Traceback" not in during.text
            if during.status_code == 503:
                assert set(during.json()) == {"error"}, during.text
            kafka.start(dev)

            deadline = time.monotonic() + 180
            while (
                retried := requests.post(sign, json={"action": "sign"}, headers=key, timeout=180)
            ).status_code != 200:
                assert retried.status_code in (202, 503), retried.text
                assert time.monotonic() < deadline, f"no verdict after the outage: {retried.text}"
                time.sleep(2)
            verdict = retried.json()["verdict"]
            print(f"after it: {verdict['outcome']}")
            assert verdict["outcome"] in ("applied", "duplicate"), verdict
            assert verdict["state"] == "signed", verdict

            store = SqlStore(make_engine(url))
            try:
                deadline = time.monotonic() + 60
                while not [e for e in _story(store, task_id) if e == "signed"]:
                    assert time.monotonic() < deadline, "the signing never reached the task store"
                    time.sleep(1)
                time.sleep(3)  # a second application, if there were one, would land by now
                assert _story(store, task_id).count("signed") == 1
            finally:
                store.close()


def _story(store: SqlStore, task_id: str) -> list[str]:
    """The states a task went through, in order, from the task store."""
    story = store.task_with_audit(task_id)
    return [e.to_state.value for e in story.events] if story else []
