"""No phone or ID number from the input leaves a real worker (issue #19's Done-when, PII part).

The shared complaint data (``zh-gov-messages-dev.csv``: 297 messages, pseudonymous users) holds
no phone, ID or card number at all, so the replay here takes its message bodies and writes into
them — and into the complainant fields — what callers dictate: mobiles (compact, spaced,
``+86``), landlines, 400 numbers, 18-digit ID numbers (with ``X`` too), 15-digit old ones, Luhn
bank cards and e-mail addresses, on enterprises made by ``schemas.sample_stream``, with words that
open red tasks. Then the worker's log file, every topic it wrote (alerts, task topics,
internal topics and changelogs) and the API answers are searched for each number, found both
with the policy's own detectors and with an independent plain regex.

A rejected record holding a phone number goes to the dead-letter topic sealed: the topic's raw
bytes do not hold it, ``riskloop deadletter show`` shows only the masked preview, and
``--decrypt`` with the key gives it back (without a key it says so and exits 2).
"""

from __future__ import annotations

import base64
import csv
import json
import random
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import requests
from confluent_kafka import Consumer, TopicPartition
from pydantic import SecretStr

from loop.identity import Role
from schemas.sample_stream import make_entities
from schemas.validation.pii import find_personal_numbers, luhn_ok, resident_id_ok
from tests.integration.conftest import (
    ROOT,
    high_watermark,
    produce,
    settings_env,
    wait_ready,
)
from tests.people import auth, person

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from config.settings import Settings

SHARED = ROOT.parent / "shared" / "data" / "complaints" / "zh-gov-messages-dev.csv"
KEY = SecretStr("operators-only-" + uuid.uuid4().hex)
ENTITIES = 4
PER_ENTITY = 3  # three in a week: the surge rule's orange warning too
GIVEN = ["晓岚", "子涵", "梓萱"]  # complainants' given names: only the surname may show


def _id18(rng: random.Random) -> str:
    while True:
        body = f"3301{rng.randint(10, 99)}19{rng.randint(50, 99)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}{rng.randint(100, 999)}"
        for last in "0123456789X":
            if resident_id_ok(body + last):
                return body + last


def _card(rng: random.Random) -> str:
    body = f"6222{rng.randint(10**11, 10**12 - 1)}"
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


def _people(rng: random.Random, i: int) -> dict[str, str]:
    mobile = f"1{rng.choice('3589')}{rng.randint(10**8, 10**9 - 1)}"
    return {
        "mobile": mobile,
        "spaced": f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}",
        "landline": f"0571-8{rng.randint(10**6, 10**7 - 1)}",
        "hotline": f"400-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
        "id18": _id18(rng),
        "id15": f"330106{rng.randint(50, 99)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}{rng.randint(100, 999)}",
        "card": _card(rng),
        "email": f"resident{i}@example.cn",
        "contact_mobile": f"139{rng.randint(10**7, 10**8 - 1)}",
        "contact_id": _id18(rng),
    }


def complaints(now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Complaints on generated enterprises, their text from the shared messages with numbers."""
    rng = random.Random(19)
    with SHARED.open(encoding="utf-8") as f:
        bodies = [row["body"][:80] for row in csv.DictReader(f) if row["body"]]
    out, people = [], []
    for e, ent in enumerate(make_entities(ENTITIES, rng)):
        for k in range(PER_ENTITY):
            i = e * PER_ENTITY + k
            p = _people(rng, i)
            people.append(p)
            text = (
                f"{bodies[i % len(bodies)]} 在{ent.name}就餐后呕吐腹泻。请回电{p['mobile']}或"
                f"{p['spaced']}，座机{p['landline']}，商家热线{p['hotline']}；身份证{p['id18']}"
                f"（旧证{p['id15']}），退款请打到卡号{p['card']}，邮箱{p['email']}"
            )
            out.append(
                {
                    "event_id": f"pii-{i:03d}",
                    "event_time": (now + timedelta(seconds=i)).isoformat(),
                    "channel": "12345",
                    "text": text,
                    "subject": f"食物中毒 回电{p['mobile']}",
                    "category": "食品安全",
                    "urgency": "紧急",
                    "uscc": ent.uscc,
                    "entity_name": ent.name,
                    "address": f"杭州市西湖区文三路{90 + i}号3幢2单元501室",
                    "region_code": ent.region_code,
                    "complainant_phone": p["contact_mobile"],
                    "complainant_id": p["contact_id"],
                    "complainant_name": f"欧阳{GIVEN[i % len(GIVEN)]}",
                }
            )
    return out, people


SIMPLE = re.compile(r"1[3-9]\d{9}|\d{17}[\dX]|\d{15,19}|0\d{2,3}-\d{7,8}|400-\d{3}-\d{4}")
"""An independent, plain look for numbers (not the policy's detectors)."""


def numbers_in(records: list[dict[str, Any]]) -> set[str]:
    text = json.dumps(records, ensure_ascii=False)
    policy = set(find_personal_numbers(text))
    simple = {re.sub(r"\D", "", m) if "-" in m else m for m in SIMPLE.findall(text)}
    spaced = {re.sub(r"\D", "", m)[2:] for m in re.findall(r"\+86 \d{3} \d{4} \d{4}", text)}
    assert spaced <= policy, "the policy must find the spaced +86 numbers"
    assert simple <= policy | {n[:-1] for n in policy}, simple - policy
    return policy | simple


def topic_dump(s: Settings, skip: set[str], run: str) -> dict[str, bytes]:
    """Every record's raw key and value bytes, per topic of this test's run (not ``skip``)."""
    c = Consumer(
        {
            "bootstrap.servers": s.bootstrap_servers,
            "group.id": f"pii-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    out: dict[str, bytes] = {}
    try:
        meta = c.list_topics(timeout=10)
        for topic in sorted(t for t in meta.topics if run in t and t not in skip):
            ends = {p: high_watermark(c, topic, p) for p in meta.topics[topic].partitions}
            left = {p: end for p, end in ends.items() if end > 0}
            c.assign([TopicPartition(topic, p, 0) for p in left])
            chunks = []
            deadline = time.monotonic() + 30
            while left:
                assert time.monotonic() < deadline, f"could not read {topic} to its end"
                msg = c.poll(0.5)
                if msg is None or msg.error():
                    continue
                chunks.append((msg.key() or b"") + b"\n" + (msg.value() or b""))
                if (msg.offset() or 0) + 1 >= left.get(msg.partition() or 0, 0):
                    left.pop(msg.partition() or 0, None)
            out[topic] = b"\n".join(chunks)
            c.unassign()
    finally:
        c.close()
    return out


def leaks(numbers: set[str], blobs: dict[str, str]) -> list[tuple[str, str]]:
    """(where, number) for each number found whole in a blob, separators ignored too."""
    found = []
    for where, text in blobs.items():
        squeezed = re.sub(r"(?<=\d)[\s-]+(?=\d)", "", text)
        found += [(where, n) for n in numbers if n in text or n in squeezed]
    return found


@pytest.fixture
def api(live_settings: Settings, worker: Callable[..., Any], tmp_path: Path) -> Settings:
    s = live_settings.model_copy(update={"deadletter_key": KEY})
    wait_ready(worker(s), f"http://127.0.0.1:{s.web_port}")
    return s


def READER(s: Settings) -> dict[str, str]:
    """The risk centre's supervisor reads everything, and reads it masked like everyone."""
    return auth(s, "supervisor")


def get(base: str, path: str, s: Settings) -> Any:
    """The answer; a 5xx is asked again for a while (the API's first read migrates the store
    while the sink may migrate it too: two alembic runs in one process can collide)."""
    deadline = time.monotonic() + 20
    while (r := requests.get(f"{base}{path}", headers=READER(s), timeout=30)).status_code >= 500:
        assert time.monotonic() < deadline, (path, r.text)
        time.sleep(1)
    assert r.status_code == 200, (path, r.text)
    return r.json()


def test_no_phone_or_id_number_leaves_the_worker(api: Settings, tmp_path: Path) -> None:
    s = api
    base = f"http://127.0.0.1:{s.web_port}"
    records, people = complaints(datetime.now(UTC) - timedelta(minutes=5))
    numbers = numbers_in(records)
    for p in people:  # every kind was put in and is looked for
        for kind in ("mobile", "id18", "id15", "card", "contact_mobile", "contact_id"):
            assert p[kind] in numbers, kind
        assert re.sub(r"\D", "", p["landline"]) in numbers

    produce(
        s.bootstrap_servers,
        s.topics.complaints,
        [(r["uscc"].encode(), json.dumps(r, ensure_ascii=False).encode()) for r in records],
    )
    deadline, seen, still = time.monotonic() + 180, -1, 0
    while still < 5:  # every entity has its tasks, and nothing changed for 5 s
        tasks = get(base, "/api/tasks", s)["tasks"]
        n = len(tasks) + len(get(base, "/api/warnings", s)["warnings"])
        still = still + 1 if n == seen and len(tasks) >= ENTITIES else 0
        seen = n
        assert time.monotonic() < deadline, f"{len(tasks)} tasks within 180 s"
        time.sleep(1)

    answers: dict[str, Any] = {"/api/warnings": get(base, "/api/warnings", s), "/api/tasks": tasks}
    for w in answers["/api/warnings"]["warnings"]:
        answers[f"/api/warnings/{w['alert_id']}"] = get(base, f"/api/warnings/{w['alert_id']}", s)
    for t in tasks:
        answers[f"/api/tasks/{t['task_id']}"] = get(base, f"/api/tasks/{t['task_id']}", s)
    for uscc in {r["uscc"] for r in records}:
        answers[f"profile {uscc}"] = get(base, f"/api/entities/{uscc}/profile", s)
    texts = {k: json.dumps(v, ensure_ascii=False) for k, v in answers.items()}
    shown = "".join(texts.values())
    masked = [p for p in people if f"{p['mobile'][:3]}****{p['mobile'][-4:]}" in shown]
    assert masked, "the complaints' text reaches the API, masked"
    assert any("文三路**号" in t for t in texts.values())  # house numbers cut in the masked view
    assert not any("单元501室" in t for t in texts.values())
    # …but the handler of the department holding a task reads its house number there (the
    # full view), with the complainants' numbers still masked; a full answer is kept apart
    # from ``texts``, whose numbers are checked below
    task = tasks[0]
    holder = person("u-holder", {Role.handler}, task["department"], "33")
    full = requests.get(
        f"{base}/api/tasks/{task['task_id']}", headers=auth(s, holder), timeout=30
    ).json()
    assert "单元501室" in full["task"]["entity_address"], full["task"]
    assert not leaks(numbers, {"full view": json.dumps(full, ensure_ascii=False)})

    time.sleep(3)  # the worker's last log lines and sink writes
    run = s.topics.complaints.rsplit("-", 1)[1]
    topics = topic_dump(s, {s.topics.complaints}, run)
    assert s.topics.alerts in topics
    assert any(t.startswith(s.topics.task_prefix) for t in topics)
    assert topics[s.topics.alerts], "the alerts topic is not empty"
    blobs = {**texts, **{f"topic {t}": v.decode("utf-8", "replace") for t, v in topics.items()}}
    blobs["worker log"] = (tmp_path / "worker-0.log").read_text(encoding="utf-8", errors="replace")
    assert not leaks(numbers, blobs)
    # house numbers: to the road on the alerts topic and in the log; an address that keys a
    # rule's window (complaints.repeat_address) travels as its pseudonym, never as a key or
    # an id (the re-keyed copy's value is the complaint itself, as on the complaints topic)
    assert "单元501室" not in blobs[f"topic {s.topics.alerts}"]
    assert "单元501室" not in blobs["worker log"]
    rekeyed = blobs[f"topic {s.topics.rekeyed}"].splitlines()  # key, value, key, value, …
    assert rekeyed[0::2], "complaints.repeat_address re-keyed nothing"
    assert all(k.startswith("addr-") for k in rekeyed[0::2]), rekeyed[:4]
    assert not [(where, g) for where, text in blobs.items() for g in GIVEN if g in text]


def test_a_dead_lettered_phone_number_is_sealed_and_the_key_restores_it(
    api: Settings, tmp_path: Path
) -> None:
    s = api
    phone = "13957124680"
    bad = {
        "event_id": "pii-bad",
        "event_time": datetime.now(UTC).isoformat(),
        "channel": "12345",
        "text": f"请回电{phone}",
        "uscc": "not-a-uscc",
    }
    original = json.dumps(bad, ensure_ascii=False).encode()
    produce(s.bootstrap_servers, s.topics.complaints, [(phone.encode(), original)])
    c = Consumer(
        {
            "bootstrap.servers": s.bootstrap_servers,
            "group.id": f"pii-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "log_level": 0,
        }
    )
    c.subscribe([s.topics.deadletter])
    raw = None
    deadline = time.monotonic() + 60
    while raw is None:
        assert time.monotonic() < deadline, "no dead letter within 60 s"
        msg = c.poll(0.5)
        if msg is not None and not msg.error():
            raw = msg.value()
    c.close()
    letter = json.loads(raw)
    assert phone.encode() not in raw
    assert phone.encode() not in base64.urlsafe_b64decode(letter["payload"])
    assert phone.encode() not in base64.urlsafe_b64decode(letter["key"])
    assert letter["reason"] == "bad_uscc"
    assert letter["encryption"].startswith("aes256gcm:")
    assert "139****4680" in letter["preview"]

    def show(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "streams", "deadletter", "show", *args],
            check=False,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    env = settings_env(s)
    masked = show(env=env)
    assert masked.returncode == 0, masked.stderr
    assert phone not in masked.stdout
    assert "139****4680" in masked.stdout
    assert "bad_uscc" in masked.stdout
    opened = show("--decrypt", "--limit", "5", env=env)
    assert opened.returncode == 0, opened.stderr
    assert f"value: {original.decode()}" in opened.stdout
    assert f"key: {phone}" in opened.stdout
    keyless = {k: v for k, v in env.items() if k != "RISKLOOP_DEADLETTER_KEY"}
    keyless["RISKLOOP_DEV__STATE_DIR"] = str(tmp_path / "no-state")  # no dev-stack key either
    refused = show("--decrypt", env=keyless)
    assert refused.returncode == 2
    assert "no dead-letter key" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert phone not in refused.stdout
