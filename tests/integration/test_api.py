"""The worker's HTTP API against a real worker subprocess on the shared local Kafka.

Refused writes must leave the control and dispositions topics exactly where they were, and an
authorised silence must reach the worker through control.silences and show in /api/silences.
The schemathesis run over /openapi.json is ``test_api_fuzz.py``.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest
import requests
from confluent_kafka import Consumer

from config.settings import PROJECT_ROOT, Settings
from streams.control_keyring import load_keyring
from streams.publish import read_records
from tests.integration.conftest import high_watermark, wait_ready
from tests.people import PEOPLE, auth

if TYPE_CHECKING:
    from collections.abc import Callable

SILENCE = {"source": "complaints", "reason": "planned closure", "hours": 1}
FENCES = PROJECT_ROOT / "config" / "geofences" / "liverpool_route14.geojson"
MODEL = {"name": "equipment-anomaly", "factory": "equipment-anomaly", "version": "api-v2"}
CALENDAR = (
    "year: 2027\nsource: 测试通知\nholidays:\n  - {name: 元旦, from: 2027-01-01, to: 2027-01-01}\n"
).encode()


@pytest.fixture
def api(live_settings: Settings, worker: Callable[..., Any]) -> tuple[str, Settings]:
    """A worker trusting the test's own key; yields its base URL once /ready says so."""
    s = live_settings
    proc = worker(s)
    base = f"http://127.0.0.1:{s.web_port}"
    wait_ready(proc, base)
    return base, s


def end_offsets(s: Settings) -> dict[str, int]:
    """Sum of end offsets of every topic a write could touch."""
    c = Consumer(
        {
            "bootstrap.servers": s.bootstrap_servers,
            "group.id": "api-offsets",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    try:
        meta = c.list_topics(timeout=10)
        t = s.topics
        topics = (t.rulepacks, t.silences, t.dispositions, t.models, t.geofences, t.calendars)
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
        ("/api/fencesets", {"data": FENCES.read_bytes()}, auth(s, "modeller"), 403),
        ("/api/fencesets", {"data": FENCES.read_bytes()}, {}, 401),
        ("/api/fencesets", {"data": b"[]"}, auth(s, "operator"), 422),
        ("/api/models", {"json": MODEL}, auth(s, "operator"), 403),
        ("/api/models", {"json": {**MODEL, "factory": "nope"}}, auth(s, "modeller"), 422),
        ("/api/calendars", {"data": CALENDAR}, auth(s, "hz_handler"), 403),
        ("/api/calendars", {"data": b"year: 1066"}, auth(s, "operator"), 422),
    ]
    for path, body, headers, status in refused:
        r = requests.post(f"{base}{path}", headers=headers, timeout=10, **body)
        assert r.status_code == status, (path, headers, r.text)
        assert set(r.json()) == {"error"}
    assert end_offsets(s) == before

    r = requests.post(f"{base}/api/silences", headers=auth(s, "operator"), json=SILENCE, timeout=30)
    assert r.status_code == 202, r.text
    silence_id = r.json()["silence_id"]
    assert r.json()["creator"] == PEOPLE["operator"].actor
    deadline = time.monotonic() + 30
    while True:
        listed = requests.get(
            f"{base}/api/silences", headers=auth(s, "hz_staff"), timeout=5
        ).json()["silences"]
        if any(x["silence_id"] == silence_id for x in listed):
            break
        assert time.monotonic() < deadline, f"silence {silence_id} never became active"
        time.sleep(0.3)
    after = end_offsets(s)
    assert after[s.topics.silences] == before[s.topics.silences] + 1
    assert {t: n for t, n in after.items() if t != s.topics.silences} == {
        t: n for t, n in before.items() if t != s.topics.silences
    }

    # an operator ends it through the API: the record names them, and it is no longer listed
    ended = requests.post(
        f"{base}/api/silences/{silence_id}/expire", headers=auth(s, "operator"), timeout=30
    )
    assert ended.status_code == 202, ended.text
    assert ended.json()["expired_by"] == PEOPLE["operator"].actor
    deadline = time.monotonic() + 30
    while any(
        x["silence_id"] == silence_id
        for x in requests.get(
            f"{base}/api/silences", headers=auth(s, "hz_staff"), timeout=5
        ).json()["silences"]
    ):
        assert time.monotonic() < deadline, f"silence {silence_id} still in force"
        time.sleep(0.3)
    assert end_offsets(s)[s.topics.silences] == after[s.topics.silences] + 1


def test_every_control_kind_is_published_through_the_api_signed_by_the_worker(
    api: tuple[str, Settings],
) -> None:
    """Fence set, model and calendar POSTed by their roles reach the worker: it accepted them,
    so they carry a signature it trusts (an unsigned one would be refused, not active)."""
    base, s = api
    doc = json.loads(FENCES.read_bytes())
    fences = json.dumps({**doc, "version": "api-1"}).encode()
    posts = [
        ("/api/fencesets", {"data": fences}, "operator"),
        ("/api/models", {"json": MODEL}, "modeller"),
        ("/api/calendars", {"data": CALENDAR}, "operator"),
    ]
    for path, body, role in posts:
        r = requests.post(f"{base}{path}", headers=auth(s, role), timeout=30, **body)
        assert r.status_code == 202, (path, r.text)
    assert r.json()["year"] == 2027
    want = {("fenceset", "liverpool-route14"): "api-1", ("model", "equipment-anomaly"): "api-v2"}
    deadline = time.monotonic() + 60
    while True:
        active = requests.get(f"{base}/api/active", headers=auth(s, "hz_staff"), timeout=5).json()[
            "active"
        ]
        seen = {(k, n): active.get(k, {}).get(n) for k, n in want}
        if seen == want and "2027" in active["calendar"]:
            break
        assert time.monotonic() < deadline, f"not active: {seen}, {active['calendar']}"
        time.sleep(0.5)
    ring = load_keyring(s)
    signed = []
    for topic in (s.topics.geofences, s.topics.models, s.topics.calendars):
        for msg in read_records(s, topic):
            signed.append(ring.verify(topic, msg.key(), msg.value(), msg.headers()).ok)
    assert signed == [True, True, True]
