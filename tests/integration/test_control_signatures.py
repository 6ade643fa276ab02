"""Signed control records on a real worker (issue #19, control plane).

A pack published by the CLI (signed with the dev key) is accepted and ``rules publish`` believes
the worker's signed answer. Then three records written straight to ``control.rulepacks`` past
the CLI — unsigned, signed by a key nobody trusts, and a genuinely signed one whose value was
changed afterwards — are each refused with a status record and counted in
``riskloop_control_refused_total{topic,reason}`` (read from the worker's /metrics), and the
pack the CLI published keeps scoring. Last, the genuinely signed record of 1.0.0, copied back
onto the topic after 1.1.0 was published, is refused as a replay.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client.parser import text_string_to_metric_families

from schemas.control_signature import sign
from schemas.validation.uscc import make_uscc
from streams.control_keyring import load_keyring
from streams.control_keys import publication_key
from streams.hotload_answers import publish_and_collect
from streams.producer import deliver, make_producer
from streams.publish import prepare_pack, read_records, send_pack
from tests.integration.conftest import tail_consumer, wait_ready
from tests.integration.test_hotload import write_pack
from tests.people import auth

if TYPE_CHECKING:
    from pathlib import Path

    from confluent_kafka import Consumer

    from config.settings import Settings


def wait_refusal(s: Settings, status: Consumer, name: str, why: str) -> dict[str, Any]:
    """The signed status record refusing ``name`` for ``why`` (e.g. "signature unsigned")."""
    ring = load_keyring(s)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        msg = status.poll(0.5)
        if msg is None or msg.error():
            continue
        record = json.loads(msg.value())
        if record["name"] == name and record["status"] == "refused" and why in record["reason"]:
            verdict = ring.verify(s.topics.status, msg.key(), msg.value(), msg.headers())
            assert verdict.ok, f"the worker's status record is not signed: {verdict}"
            return record
    raise AssertionError(f"no refusal of {name} for {why!r}")


def refused_counts(base: str) -> dict[tuple[str, str], float]:
    text = requests.get(f"{base}/metrics", timeout=10).text
    return {
        (sample.labels["topic"], sample.labels["reason"]): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "riskloop_control_refused"
        for sample in family.samples
        if sample.name == "riskloop_control_refused_total"
    }


def test_unsigned_foreign_and_tampered_packs_are_refused_and_the_signed_one_keeps_scoring(
    live_settings: Settings, worker: Any, tmp_path: Path
) -> None:
    s = live_settings
    base = f"http://127.0.0.1:{s.web_port}"
    run = uuid.uuid4().hex[:8]
    ids = {"name": f"signed-{run}", "rule": f"signed{run}.probe", "item": f"SIGNED-{run}"}
    cond = f'event.item_code == "{ids["item"]}"'
    status = tail_consumer(s.bootstrap_servers, [s.topics.status])
    alerts = tail_consumer(s.bootstrap_servers, [s.topics.alerts])
    proc = worker()
    wait_ready(proc, base, timeout=120)

    pub = prepare_pack(write_pack(tmp_path, "1.0.0", condition=cond, score=10, ids=ids), "test")
    answers = publish_and_collect(
        s, lambda: send_pack(s, pub), kind="rulepack", name=pub.name, version="1.0.0"
    )
    assert [a["status"] for a in answers.by_worker.values()] == ["accepted"], answers

    def pack_value(version: str) -> bytes:
        other = prepare_pack(write_pack(tmp_path, version, condition=cond, score=99, ids=ids), "x")
        return other.model_dump_json().encode()

    topic, key = s.topics.rulepacks, ids["name"].encode()
    producer = make_producer(s)
    deliver(producer, topic, key, pack_value("6.6.6"))  # unsigned
    wait_refusal(s, status, ids["name"], "signature unsigned")
    foreign = sign(Ed25519PrivateKey.generate(), topic, key, pack_value("7.7.7"), datetime.now(UTC))
    deliver(producer, topic, key, pack_value("7.7.7"), headers=foreign)
    wait_refusal(s, status, ids["name"], "signature unknown_key")
    genuine = load_keyring(s).sign(topic, key, pack_value("8.8.8"))
    deliver(producer, topic, key, pack_value("9.9.9"), headers=genuine)  # value changed after
    wait_refusal(s, status, ids["name"], "signature bad_signature")

    counts = refused_counts(base)
    for reason in ("unsigned", "unknown_key", "bad_signature"):
        assert counts.get((topic, reason)) == 1.0, counts
    active = requests.get(f"{base}/api/active", headers=auth(s, "operator"), timeout=10).json()[
        "active"
    ]["rulepack"]
    assert active[ids["name"]] == "1.0.0"

    uscc = make_uscc(f"sig-{run}", "330106")
    event = {
        "event_id": f"sig-{run}",
        "event_time": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "uscc": uscc,
        "entity_name": "杭州签名测试餐饮有限公司",
        "region_code": "330106",
        "item_code": ids["item"],
        "outcome": "pass",
    }
    deliver(producer, s.topics.inspections, uscc.encode(), json.dumps(event).encode())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        msg = alerts.poll(0.5)
        if msg is None or msg.error():
            continue
        alert = json.loads(msg.value())
        versions = [r["version"] for r in alert["reasons"] if r["id"] == ids["rule"]]
        if alert["entity"] == uscc and versions:
            assert versions == ["1.0.0"], alert["reasons"]
            break
    else:
        raise AssertionError("the signed pack did not score the event")

    # a replay: the genuinely signed 1.0.0 record copied back after 1.1.0 was published
    newer = prepare_pack(write_pack(tmp_path, "1.1.0", condition=cond, score=20, ids=ids), "t")
    answers = publish_and_collect(
        s, lambda: send_pack(s, newer), kind="rulepack", name=pub.name, version="1.1.0"
    )
    assert [a["status"] for a in answers.by_worker.values()] == ["accepted"], answers
    old_key = publication_key(pub.name, pub.version, pub.content_hash).encode()
    (original,) = [m for m in read_records(s, topic) if m.key() == old_key]
    deliver(producer, topic, old_key, original.value(), headers=original.headers())
    wait_refusal(s, status, ids["name"], "signature replayed")
    assert refused_counts(base).get((topic, "replayed")) == 1.0
    active = requests.get(f"{base}/api/active", headers=auth(s, "operator"), timeout=10).json()[
        "active"
    ]["rulepack"]
    assert active[ids["name"]] == "1.1.0"
