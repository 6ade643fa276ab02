"""Kafka with SASL/SCRAM and ACLs (issue #19): only RiskLoop's principal writes control topics.

A second broker (``infra/kafka_secure.py``) starts in its own temp folder on free ports — the
dev broker on 9092 is not touched — with the ``admin``, ``riskloop`` and ``intake`` principals
and the ACLs of ``acl_bindings``. ``intake`` may write a source topic but its write to
``control.rulepacks`` is refused with TOPIC_AUTHORIZATION_FAILED; ``riskloop``'s is acknowledged;
a wrong password does not get in at all. The whole test (format, JVM start, ACLs, writes, stop)
is timed and must stay under 90 s.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

import pytest
from confluent_kafka import KafkaError
from confluent_kafka.admin import AdminClient, NewTopic

from config.settings import Settings, TopicSettings
from infra import kafka_secure
from infra.kafka_secure import PRINCIPALS, SecureKafka
from infra.ports import free_port
from streams.producer import make_producer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

BUDGET = 90.0


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[SecureKafka, float]]:
    """The started broker and when its start began (the budget counts the JVM start)."""
    started = time.monotonic()
    sk = SecureKafka(
        root=tmp_path / "kafka-secure",
        port=free_port(),
        controller_port=free_port(),
        passwords={name: secrets.token_urlsafe(16) for name in PRINCIPALS},
    )
    dev = Settings(_env_file=None).dev  # type: ignore[call-arg]  # the jar cache only
    try:
        kafka_secure.start(dev, sk)
        yield sk, started
    finally:
        kafka_secure.stop(sk)


def write(config: dict[str, str | int | float | bool], topic: str) -> KafkaError | None:
    """One record produced with ``config``; the delivery error (None: acknowledged)."""
    outcome: list[KafkaError | None] = []
    bootstrap = str(config["bootstrap.servers"])  # idempotent, as every RiskLoop producer
    producer = make_producer(bootstrap, {"message.timeout.ms": 15000, **config})
    producer.produce(topic, key=b"k", value=b"v", on_delivery=lambda err, _m: outcome.append(err))
    producer.flush(20)
    assert outcome, f"no delivery report for {topic}"
    return outcome[0]


def test_only_riskloop_writes_control_topics_and_intake_only_sources(
    secured: tuple[SecureKafka, float],
) -> None:
    sk, started = secured
    topics = TopicSettings()
    kafka_secure.apply_acls(sk, kafka_secure.acl_bindings(topics, "riskloop"))
    admin = AdminClient(sk.client_config("admin"))
    wanted = [topics.rulepacks, topics.inspections]
    for future in admin.create_topics([NewTopic(t, 1, 1) for t in wanted]).values():
        future.result(timeout=30)

    refused = write(sk.client_config("intake"), topics.rulepacks)
    assert refused is not None, refused
    assert refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, refused
    assert write(sk.client_config("intake"), topics.inspections) is None
    assert write(sk.client_config("riskloop"), topics.rulepacks) is None

    stranger = {
        **sk.client_config("riskloop"),
        "sasl.password": "guess",
        "message.timeout.ms": 4000,
    }
    failed = write(stranger, topics.rulepacks)
    assert failed is not None, "a wrong password must not write"
    elapsed = time.monotonic() - started
    assert elapsed < BUDGET, f"the secured broker's start and checks took {elapsed:.0f} s"
