"""The worker's HTTP API against a real worker subprocess on the shared local Kafka.

Refused writes must leave the control and dispositions topics exactly where they were, and an
authorised silence must reach the worker through control.silences and show in /api/silences.
The schemathesis run over /openapi.json is ``test_api_fuzz.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from confluent_kafka import Consumer

from config.settings import Settings
from tests.integration.conftest import high_watermark, wait_ready
from tests.people import PEOPLE, auth

SILENCE = {"source": "complaints", "reason": "planned closure", "hours": 1}


@pytest.fixture
def api(live_settings: Settings, worker: Callable[..., Any]) -> Iterator[tuple[str, Settings]]:
    """A worker trusting the test's own key; yields its base URL once /ready says so."""
    s = live_settings
    proc = worker(s)
    base = f"http://127.0.0.1:{s.web_port}"
    wait_ready(proc, base)
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
    disposition = {"action": "sign"}
    refused = [
        ("/api/silences", {"json": SILENCE}, {}, 401),
        ("/api/silences", {"json": SILENCE}, auth(s, "modeller"), 403),
        ("/api/silences", {"json": SILENCE}, {"Authorization": "Bearer guess"}, 401),
        ("/api/silences", {"json": {**SILENCE, "creator": "it"}}, auth(s, "operator"), 403),
        ("/api/rulepacks", {"data": b"name: x"}, auth(s, "operator"), 403),
        ("/api/rulepacks", {"data": b"name: x"}, {}, 401),
        ("/api/tasks/t-1/dispositions", {"json": disposition}, auth(s, "operator"), 403),
        ("/api/tasks/t-1/dispositions", {"json": disposition}, auth(s, "hz_staff"), 403),
        ("/api/tasks/t-1/dispositions", {"json": disposition}, {}, 401),
        (
            "/api/tasks/t-1/assignments",
            {"json": {"department": "hz_market", "reason": "r"}},
            auth(s, "hz_handler"),
            403,
        ),
        ("/api/tasks/t-1/assignments", {"json": {}}, {}, 401),
        ("/api/silences", {"json": {"reason": "r"}}, auth(s, "operator"), 422),
        ("/api/rulepacks", {"data": b"name: ["}, auth(s, "modeller"), 422),
    ]
    for path, body, headers, status in refused:
        r = requests.post(f"{base}{path}", headers=headers, timeout=10, **body)
        assert r.status_code == status, (path, headers, r.text)
        assert set(r.json()) == {"error"}
    assert end_offsets(s) == before

    r = requests.post(f"{base}/api/silences", headers=auth(s, "operator"), json=SILENCE,
                      timeout=30)  # fmt: skip
    assert r.status_code == 202, r.text
    silence_id = r.json()["silence_id"]
    assert r.json()["creator"] == PEOPLE["operator"].actor
    deadline = time.monotonic() + 30
    while True:
        listed = requests.get(f"{base}/api/silences", headers=auth(s, "hz_staff"),
                              timeout=5).json()["silences"]  # fmt: skip
        if any(x["silence_id"] == silence_id for x in listed):
            break
        assert time.monotonic() < deadline, f"silence {silence_id} never became active"
        time.sleep(0.3)
    after = end_offsets(s)
    assert after[s.topics.silences] == before[s.topics.silences] + 1
    assert {t: n for t, n in after.items() if t != s.topics.silences} == {
        t: n for t, n in before.items() if t != s.topics.silences
    }
