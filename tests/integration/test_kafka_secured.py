"""Kafka with SASL/SCRAM and ACLs (issue #19): only RiskLoop's principal writes control topics.

A second broker (``infra/kafka_secure.py``) starts in its own temp folder on free ports — the
dev broker on 9092 is not touched — with the ``admin``, ``riskloop`` and ``intake`` principals
and the ACLs of ``acl_bindings``. ``intake`` may write a source topic but its write to
``control.rulepacks`` is refused with TOPIC_AUTHORIZATION_FAILED; ``riskloop``'s is acknowledged;
a wrong password does not get in at all. The whole test (format, JVM start, ACLs, writes, stop)
is timed and must stay under 90 s.

RiskLoop's own clients on it, over TLS as in production (SASL_SSL, the broker's certificate
checked against the dev CA of ``infra/dev_tls.py``): a real worker and the CLI configured as
``riskloop`` (``RISKLOOP_KAFKA_AUTH__*``, ``streams/kafka_clients.py``), a source system
writing as ``intake``: a failed inspection becomes a warning on the alerts topic, read back as
``riskloop``, and the console's two aiokafka feeds read over the same TLS (the live feed the
alerts topic, the map feed a truck fix); with a wrong password, or a CA file that does not vouch
for the broker, the CLI and the worker stop at once and say why in one line. The same worker and
console run again with client certificates instead of passwords (mTLS, protocol ``SSL``).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from typing import TYPE_CHECKING

import pytest
import requests
from confluent_kafka import Consumer, KafkaError
from confluent_kafka.admin import AdminClient, NewTopic
from pydantic import SecretStr

from config.settings import KafkaAuthSettings, Settings, TopicSettings
from infra import dev_tls, kafka_secure
from infra.kafka_secure import PRINCIPALS, SecureKafka
from infra.ports import free_port
from infra.process import stop_child
from schemas.validation.uscc import make_uscc
from streams import kafka_clients
from streams.producer import make_producer
from tests.integration.conftest import (
    collect,
    failed_inspection,
    private_settings,
    run_cli,
    start_console,
    start_worker,
    wait_ready,
)
from tests.integration.test_geo_dumping import loaded_trip_with_stop
from tests.people import token

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
        tls_port=free_port(),
        mtls_port=free_port(),
        passwords={name: secrets.token_urlsafe(16) for name in PRINCIPALS},
    )
    dev = Settings(_env_file=None).dev  # type: ignore[call-arg]  # the jar cache only
    try:
        kafka_secure.start(dev, sk)
        yield sk, started
    finally:
        kafka_secure.stop(sk)


def write(
    config: dict[str, str | int | float | bool], topic: str, value: bytes = b"v", key: str = "k"
) -> KafkaError | None:
    """One record produced with ``config``; the delivery error (None: acknowledged)."""
    outcome: list[KafkaError | None] = []
    bootstrap = str(config["bootstrap.servers"])  # idempotent, as every RiskLoop producer
    producer = make_producer(bootstrap, {"message.timeout.ms": 15000, **config})
    producer.produce(
        topic, key=key.encode(), value=value, on_delivery=lambda err, _m: outcome.append(err)
    )
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
    # the TLS listener applies the same principals and ACLs
    refused = write(sk.client_config("intake", tls=True), topics.rulepacks)
    assert refused is not None, refused
    assert refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, refused
    assert write(sk.client_config("intake", tls=True), topics.inspections) is None
    # and the mTLS listener, where a client certificate (CN=<principal>) is the principal
    refused = write(sk.client_config("intake", mtls=True), topics.rulepacks)
    assert refused is not None, refused
    assert refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, refused
    assert write(sk.client_config("intake", mtls=True), topics.inspections) is None
    assert write(sk.client_config("riskloop", mtls=True), topics.rulepacks) is None
    anonymous = {
        k: v
        for k, v in sk.client_config("riskloop", mtls=True).items()
        if k not in ("ssl.certificate.location", "ssl.key.location")
    }
    assert write({**anonymous, "message.timeout.ms": 4000}, topics.inspections) is not None

    stranger = {
        **sk.client_config("riskloop"),
        "sasl.password": "guess",
        "message.timeout.ms": 4000,
    }
    failed = write(stranger, topics.rulepacks)
    assert failed is not None, "a wrong password must not write"
    elapsed = time.monotonic() - started
    assert elapsed < BUDGET, f"the secured broker's start and checks took {elapsed:.0f} s"


def test_a_worker_and_the_cli_work_as_riskloop_over_tls_on_the_secured_broker(
    secured: tuple[SecureKafka, float], tmp_path: Path
) -> None:
    sk, _ = secured
    run = uuid.uuid4().hex[:8]
    topics = TopicSettings.for_run(run)
    app_id = f"riskloop-test-{run}"
    kafka_secure.apply_acls(sk, kafka_secure.acl_bindings(topics, app_id))
    auth = {"protocol": "SASL_SSL", "username": "riskloop", "ca_file": sk.tls.ca_file}
    with private_settings(
        tmp_path,
        topics=topics,
        app_id=app_id,
        kafka_broker=f"kafka://{sk.tls_bootstrap}",
        kafka_auth={**auth, "password": sk.passwords["riskloop"]},
    ) as s:  # its topics created as riskloop (the ACLs let it)
        warning_and_live_feed(s, tmp_path, sk.client_config("intake", tls=True), f"sasl-{run}")

        ok = run_cli(s, "topics", "list")
        assert ok.returncode == 0, ok.stderr
        assert s.topics.alerts in ok.stdout

        wrong = s.with_overrides(
            kafka_auth=s.kafka_auth.model_copy(update={"password": SecretStr("guess")})
        )
        refused = run_cli(wrong, "topics", "list")
        said = refused.stderr + refused.stdout
        assert refused.returncode != 0
        assert "as riskloop over SASL_SSL" in said, said
        assert "Traceback" not in said, said

        stranger_ca = dev_tls.ensure(tmp_path / "another-ca", password="x").ca_file
        untrusted = s.with_overrides(
            kafka_auth=s.kafka_auth.model_copy(update={"ca_file": stranger_ca})
        )
        refused = run_cli(untrusted, "topics", "list")
        said = refused.stderr + refused.stdout
        assert refused.returncode != 0
        assert "a broker certificate the CA file does not vouch for" in said, said
        assert "Traceback" not in said, said
        log = tmp_path / "refused-worker.log"
        refused_worker = start_worker(wrong, log)
        try:
            assert refused_worker.wait(timeout=90) != 0
        finally:
            stop_child(refused_worker)
        said = log.read_text(encoding="utf-8", errors="replace")
        assert "as riskloop over SASL_SSL" in said, said
        assert "Traceback" not in said, said

        # mTLS: the same clients with riskloop's client certificate instead of a password
        cert, key = sk.client_certificate("riskloop")
        mutual = s.with_overrides(
            kafka_broker=f"kafka://127.0.0.1:{sk.mtls_port}",
            kafka_auth=KafkaAuthSettings(
                protocol="SSL", ca_file=sk.tls.ca_file, cert_file=cert, key_file=key
            ),
        )
        ok = run_cli(mutual, "topics", "list")
        assert ok.returncode == 0, ok.stderr
        assert s.topics.alerts in ok.stdout
        assert s.topics.alerts in asyncio.run(_topics_by_aiokafka(mutual))
        without = mutual.kafka_auth.model_copy(update={"cert_file": None, "key_file": None})
        refused = run_cli(mutual.with_overrides(kafka_auth=without), "topics", "list")
        said = refused.stderr + refused.stdout
        assert refused.returncode != 0
        assert "over SSL" in said, said
        assert "a broker that asks for a client certificate" in said, said
        assert "Traceback" not in said, said


def test_a_worker_and_the_console_work_with_client_certificates_on_the_secured_broker(
    secured: tuple[SecureKafka, float], tmp_path: Path
) -> None:
    """mTLS end to end: the worker (Faust's aiokafka clients and the confluent producers),
    the console's two feeds and the source system all prove who they are by certificate."""
    sk, _ = secured
    run = uuid.uuid4().hex[:8]
    topics = TopicSettings.for_run(run)
    app_id = f"riskloop-test-{run}"
    kafka_secure.apply_acls(sk, kafka_secure.acl_bindings(topics, app_id))
    cert, key = sk.client_certificate("riskloop")
    auth = KafkaAuthSettings(protocol="SSL", ca_file=sk.tls.ca_file, cert_file=cert, key_file=key)
    with private_settings(
        tmp_path,
        topics=topics,
        app_id=app_id,
        kafka_broker=f"kafka://127.0.0.1:{sk.mtls_port}",
        kafka_auth=auth,
    ) as s:  # its topics created as riskloop, by certificate
        warning_and_live_feed(s, tmp_path, sk.client_config("intake", mtls=True), f"mtls-{run}")


def warning_and_live_feed(
    s: Settings, tmp_path: Path, intake: dict[str, str | int | float | bool], name: str
) -> None:
    """A real worker on ``s`` turns a failed inspection, written by a source system with
    ``intake``'s settings, into a warning read back on the alerts topic with ``s``'s clients;
    then the console on ``s`` gets ready (its live feed reads the alerts topic) and its map
    feed shows a truck fix written with ``intake``: both of the console's aiokafka consumers."""
    uscc = make_uscc(name, "330106")
    failed = failed_inspection(f"{name}-1", uscc)
    consumer = Consumer(
        {
            **kafka_clients.confluent(s),
            "group.id": f"riskloop-t-{name}",  # riskloop's groups only (the ACLs)
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    consumer.subscribe([s.topics.alerts])
    proc = start_worker(s, tmp_path / f"worker-{name}.log")
    try:
        wait_ready(proc, f"http://{s.web_host}:{s.web_port}", timeout=90)
        body = json.dumps(failed, ensure_ascii=False).encode()
        assert write(intake, s.topics.inspections, body, uscc) is None

        def warned(msgs: list[tuple[str, dict]]) -> bool:
            return any(failed["event_id"] in v.get("evidence", []) for _, v in msgs)

        msgs = collect(consumer, warned, timeout=90)
        assert warned(msgs), f"no warning on {s.topics.alerts} as riskloop: {msgs}"
    finally:
        consumer.close()
        stop_child(proc)

    plate = f"浙A{name[-5:].upper()}"
    fix = loaded_trip_with_stop(plate)[0]
    assert write(intake, s.topics.trucks, fix.model_dump_json().encode(), plate) is None
    c = s.with_overrides(console=s.console.model_copy(update={"port": free_port()}))
    console = start_console(c, tmp_path / f"console-{name}.log")
    url = f"http://127.0.0.1:{c.console.port}"
    try:
        wait_ready(console, url, timeout=60)
        cookies = {"riskloop_console_token": token(c, "supervisor")}
        plates: list[str] = []
        deadline = time.monotonic() + 60
        while plate not in plates and time.monotonic() < deadline:
            data = requests.get(f"{url}/map/data.json", cookies=cookies, timeout=30)
            assert data.status_code == 200, data.text[:500]
            features = data.json()["trucks"]["features"]
            plates = [f["properties"].get("plate") for f in features]
            time.sleep(0.5)
        assert plate in plates, f"the map feed did not read {s.topics.trucks}: {plates}"
    finally:
        stop_child(console)


async def _topics_by_aiokafka(settings: Settings) -> set[str]:
    """The topics an aiokafka client built by ``streams/kafka_clients.py`` sees (the console's
    feeds, the control reader and Faust build theirs the same way)."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(**kafka_clients.aiokafka(settings))
    await consumer.start()
    try:
        return set(await consumer.topics())
    finally:
        await consumer.stop()
