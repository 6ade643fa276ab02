"""The worker's HTTP API against a real worker subprocess on the shared local Kafka.

Refused writes must leave the control and dispositions topics exactly where they were; an
authorised silence must reach the worker through control.silences and show in /api/silences;
and a bounded schemathesis run over /openapi.json must never get a 5xx.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import schemathesis
from confluent_kafka import Consumer
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis.errors import Unsatisfiable
from pydantic import SecretStr
from schemathesis import GenerationMode

from config.settings import ApiTokens, Settings
from tests.integration.conftest import high_watermark

TOKENS = ApiTokens(
    modeller=SecretStr("it-modeller"),
    operator=SecretStr("it-operator"),
    department=SecretStr("it-department"),
)
ROLE_OF_PATH = {
    "/api/rulepacks": "modeller",
    "/api/silences": "operator",
    "/api/tasks/{task_id}/dispositions": "department",
}
SILENCE = {"source": "complaints", "reason": "planned closure", "creator": "it", "hours": 1}


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {getattr(TOKENS, role).get_secret_value()}"}


@pytest.fixture
def api(live_settings: Settings, worker: Callable[..., Any]) -> Iterator[tuple[str, Settings]]:
    """A worker with a token per role; yields its base URL once /ready says so."""
    s = live_settings.model_copy(update={"api_tokens": TOKENS})
    proc = worker(s)
    base = f"http://127.0.0.1:{s.web_port}"
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, "the worker exited"
        try:
            if requests.get(f"{base}/ready", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, "worker not ready within 60 s"
        time.sleep(0.3)
    yield base, s


def end_offsets(s: Settings) -> dict[str, int]:
    """Sum of end offsets of every topic a write could touch."""
    c = Consumer({"bootstrap.servers": s.bootstrap_servers, "group.id": "api-offsets",
                  "enable.auto.commit": False, "log_level": 0})  # fmt: skip
    try:
        meta = c.list_topics(timeout=10)
        topics = (s.topics.rulepacks, s.topics.silences, s.topics.dispositions, s.topics.models)
        return {t: sum(high_watermark(c, t, p) for p in meta.topics[t].partitions) for t in topics}
    finally:
        c.close()


def test_writes_need_their_role_and_a_refusal_changes_nothing(api: tuple[str, Settings]) -> None:
    base, s = api
    before = end_offsets(s)
    disposition = {"department": "hz_market", "action": "sign", "actor": "li"}
    refused = [
        ("/api/silences", {"json": SILENCE}, {}, 401),
        ("/api/silences", {"json": SILENCE}, auth("modeller"), 403),
        ("/api/silences", {"json": SILENCE}, {"Authorization": "Bearer guess"}, 403),
        ("/api/rulepacks", {"data": b"name: x"}, auth("operator"), 403),
        ("/api/rulepacks", {"data": b"name: x"}, {}, 401),
        ("/api/tasks/t-1/dispositions", {"json": disposition}, auth("operator"), 403),
        ("/api/tasks/t-1/dispositions", {"json": disposition}, {}, 401),
        ("/api/silences", {"json": {"reason": "r", "creator": "c"}}, auth("operator"), 422),
        ("/api/rulepacks", {"data": b"name: ["}, auth("modeller"), 422),
    ]
    for path, body, headers, status in refused:
        r = requests.post(f"{base}{path}", headers=headers, timeout=10, **body)
        assert r.status_code == status, (path, headers, r.text)
        assert set(r.json()) == {"error"}
    assert end_offsets(s) == before

    r = requests.post(f"{base}/api/silences", headers=auth("operator"), json=SILENCE, timeout=30)
    assert r.status_code == 202, r.text
    silence_id = r.json()["silence_id"]
    deadline = time.monotonic() + 30
    while True:
        listed = requests.get(f"{base}/api/silences", timeout=5).json()["silences"]
        if any(x["silence_id"] == silence_id for x in listed):
            break
        assert time.monotonic() < deadline, f"silence {silence_id} never became active"
        time.sleep(0.3)
    after = end_offsets(s)
    assert after[s.topics.silences] == before[s.topics.silences] + 1
    assert {t: n for t, n in after.items() if t != s.topics.silences} == {
        t: n for t, n in before.items() if t != s.topics.silences
    }


UNAVAILABLE_WHILE_REBALANCING = {"/ready", "/api/entities/{uscc}/profile"}


def fuzz(
    op: Any, mode: GenerationMode, headers: dict[str, str], base: str, statuses: list[int]
) -> list[str]:
    """Run one operation's generated cases; the 5xx answers, as curl commands to replay."""
    failures: list[str] = []
    examples = 20 if mode is GenerationMode.POSITIVE else 10

    @given(case=op.as_strategy(generation_mode=mode))
    @hsettings(max_examples=examples, deadline=None, database=None, derandomize=True,
               suppress_health_check=list(HealthCheck))  # fmt: skip
    def call(case: Any) -> None:
        response = case.call(base_url=base, headers=headers, timeout=30)
        statuses.append(response.status_code)
        # 503 is documented for these two: not ready yet, or the key's owner is not known while
        # the group rebalances ("try again later") — by design, not a server fault
        documented = response.status_code == 503 and op.path in UNAVAILABLE_WHILE_REBALANCING
        if response.status_code >= 500 and not documented:
            failures.append(
                f"{response.status_code} {response.text[:200]} ← {case.as_curl_command()}"
            )
        assert "Traceback" not in response.text

    try:
        call()
    except Unsatisfiable:  # nothing to make invalid (no parameters, no body): nothing to send
        assert mode is GenerationMode.NEGATIVE
    return failures


def test_schemathesis_finds_no_server_error(api: tuple[str, Settings]) -> None:
    """Every operation, without a token and (for writes) with its role's token, valid and
    invalid data; 20 + 10 examples each keeps the run well under a minute."""
    base, _ = api
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    failures: list[str] = []
    statuses: list[int] = []
    for result in schema.get_all_operations():
        op = result.ok()
        role = ROLE_OF_PATH.get(op.path) if op.method.upper() == "POST" else None
        for headers in [{}] + ([auth(role)] if role else []):
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                failures += fuzz(op, mode, headers, base, statuses)
    assert not failures, "\n".join(failures[:10])
    assert len(statuses) > 100 and {202, 401, 403} <= set(statuses), sorted(set(statuses))
