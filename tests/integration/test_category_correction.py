"""A department's category correction teaches the complaint classifier (issue #18), on a real
worker and broker.

A complaint filed by the hotline under 卫生计生 raises a red food-poisoning warning and its task
at hz_market; the classifier scored it on the complaint's partition, and its model is in that
partition's checkpoint. A category that is not one of the taxonomy's is refused with one line —
by the API (422) and by the CLI (exit 1) — before anything is sent. The department then
disposes of the task correcting the category to 商贸旅游: the audit trail says so, and the
classifier of that partition, read back from its next checkpoint, gives the same text a higher
probability of 商贸旅游 than before, having learnt that category exactly once (a retry of the
disposition with the same Idempotency-Key teaches nothing more) and the refused names never.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import requests

from models.complaints import ComplaintClassifier
from models.snapshot import restore
from schemas.records import Complaint
from schemas.validation.uscc import make_uscc
from streams.snapshots import snapshot_key
from tests.integration.conftest import (
    collect,
    produce,
    tail_consumer,
    wait_model_snapshot,
    wait_ready,
)
from tests.integration.test_disposition_verdicts import cli
from tests.people import auth

if TYPE_CHECKING:
    from collections.abc import Callable

    from config.settings import Settings

MODEL = "complaint-classifier"
DEPARTMENT = "hz_market"  # config/routing.yaml: complaints in Hangzhou outside 西湖区
SUBJECT = "饭后上吐下泻"
TEXT = "在这家店吃了烧烤后全家上吐下泻，怀疑食物中毒，店家拒不退款还说是我们自己的问题"
CORRECTED = "商贸旅游"


def _complaint(uscc: str) -> tuple[bytes, bytes]:
    event = {
        "event_id": f"corr-{uscc[-6:]}",
        "event_time": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "channel": "12345",
        "subject": SUBJECT,
        "text": TEXT,
        "category": "卫生计生",
        "uscc": uscc,
        "entity_name": "杭州滨江测试烧烤店",
        "region_code": "330108",
    }
    return uscc.encode(), json.dumps(event, ensure_ascii=False).encode()


def _classifier(
    s: Settings, uscc: str, until: Callable[[dict[str, int]], bool], timeout: float = 90
) -> ComplaintClassifier:
    """The classifier of ``uscc``'s partition as its latest checkpoint holds it, once that
    checkpoint's offsets satisfy ``until``."""
    blob = wait_model_snapshot(s, uscc, MODEL, until, timeout)
    model, _ = restore(blob, expect_factory=MODEL, key=snapshot_key(s))
    assert isinstance(model, ComplaintClassifier)
    return model


def _p(model: ComplaintClassifier, category: str) -> float:
    """The model's probability of ``category`` for the complaint's own subject and text."""
    record = Complaint(
        event_id="probe", event_time=datetime.now(UTC), channel="12345", subject=SUBJECT, text=TEXT
    )
    return float(model.category_model.predict_proba_one(model.features(record)).get(category, 0.0))


def _read(offsets: dict[str, int], topic: str) -> int:
    return sum(n for k, n in offsets.items() if k.startswith(f"{topic}:"))


def test_a_category_correction_moves_the_classifier_toward_it(
    live_settings: Settings, worker: Callable[..., Any]
) -> None:
    s = live_settings
    uscc = make_uscc(f"correction-{s.app_id}", "330108")
    head = auth(s, "hz_handler")
    base = f"http://127.0.0.1:{s.web_port}"
    events = tail_consumer(s.bootstrap_servers, [s.topics.task_events])
    wait_ready(worker(s), base)
    produce(s.bootstrap_servers, s.topics.complaints, [_complaint(uscc)])
    opened = collect(
        events, lambda m: any(v.get("to_state") == "dispatched" for _, v in m), timeout=120
    )
    (task_id,) = {v["task_id"] for _, v in opened if v.get("to_state") == "dispatched"}
    assert {v["department"] for _, v in opened} == {DEPARTMENT}
    before = _classifier(s, uscc, lambda o: _read(o, s.topics.complaints) >= 1)
    assert before.labels_seen == {"卫生计生": 1}  # the hotline's category, learnt on arrival
    p_before = _p(before, CORRECTED)

    url = f"{base}/api/tasks/{task_id}/dispositions"
    for action in ("sign", "start"):
        r = requests.post(url, json={"action": action}, headers=head, timeout=60)
        assert r.status_code == 200, r.text
    dispose = {"action": "dispose", "result": "confirmed", "evidence": ["现场检查记录.pdf"]}

    # a name outside the taxonomy: one clear line, nothing sent
    bad = requests.post(url, json={**dispose, "category": "食品安全"}, headers=head, timeout=60)
    assert bad.status_code == 422, bad.text
    error = bad.json()["error"]
    assert "食品安全 is a sub-category of 卫生计生" in error
    assert "商贸旅游" in error
    assert "\n" not in error
    assert "Traceback" not in error
    wrong = cli(
        s,
        "dispose",
        task_id,
        "--department",
        DEPARTMENT,
        "--result",
        "confirmed",
        "--evidence",
        "x.pdf",
        "--category",
        "消费维权",
    )
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    assert "unknown category '消费维权'; the categories: 交通运输" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1
    assert "Traceback" not in wrong.stderr

    key = {**head, "Idempotency-Key": f"correct-{task_id}"}
    good = {**dispose, "category": CORRECTED}
    first = requests.post(url, json=good, headers=key, timeout=60)
    assert first.status_code == 200, first.text
    assert first.json()["verdict"]["outcome"] == "applied"
    assert first.json()["disposition"]["category"] == CORRECTED
    again = requests.post(url, json=good, headers=key, timeout=60)  # a client's retry
    assert again.json()["verdict"]["outcome"] == "duplicate", again.text
    disposed = collect(
        events, lambda m: any(v.get("to_state") == "disposed" for _, v in m), timeout=60
    )
    (row,) = [v for _, v in disposed if v.get("to_state") == "disposed"]
    assert row["reason"] == f"confirmed; complaint category corrected to {CORRECTED}"
    events.close()

    after = _classifier(s, uscc, lambda o: _read(o, s.topics.feedback) >= 1)
    assert after.labels_seen[CORRECTED] == 1, after.labels_seen  # once, the retry taught nothing
    assert "食品安全" not in after.labels_seen
    assert "消费维权" not in after.labels_seen
    p_after = _p(after, CORRECTED)
    assert p_after > p_before, (p_before, p_after)

    # the warning's evidence brief of that complaint shows the correction (the SQL store)
    alert_id = requests.get(f"{base}/api/tasks/{task_id}", headers=head, timeout=30).json()
    alert_id = alert_id["task"]["alert_id"]
    shown: list[str] = []
    deadline = time.monotonic() + 30
    while not shown and time.monotonic() < deadline:
        r = requests.get(f"{base}/api/warnings/{alert_id}", headers=head, timeout=30)
        briefs = r.json()["warning"]["evidence_records"] if r.status_code == 200 else []
        shown = [b["values"]["category"] for b in briefs if "category" in b["values"]]
        time.sleep(0.5)
    assert shown, shown
    assert shown[0].startswith(CORRECTED), shown
    assert "卫生计生" in shown[0], shown


pytestmark = pytest.mark.timeout(300)
