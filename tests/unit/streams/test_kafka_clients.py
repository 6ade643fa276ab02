"""Every Kafka client takes the broker and the credentials from one place (streams/kafka_clients.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from pydantic import ValidationError

from config.settings import Settings, subprocess_env
from streams import kafka_clients
from streams.app import faust_config
from streams.producer import producer_config

if TYPE_CHECKING:
    from pathlib import Path

SECURED = {"protocol": "SASL_SSL", "username": "riskloop", "password": "s3cret"}


def settings(**auth: object) -> Settings:
    return Settings(_env_file=None, kafka_broker="kafka://k1:9093;kafka://k2:9093", kafka_auth=auth)  # type: ignore[call-arg]


def test_a_sasl_protocol_without_credentials_is_refused_with_the_variables_to_set() -> None:
    with pytest.raises(ValidationError, match="RISKLOOP_KAFKA_AUTH__PASSWORD"):
        settings(protocol="SASL_SSL", username="riskloop")
    with pytest.raises(ValidationError, match="ca_file is for SSL or SASL_SSL"):
        settings(ca_file="/etc/ssl/ca.pem")


def test_the_producers_the_faust_app_and_aiokafka_get_the_same_principal() -> None:
    s = settings(**SECURED)
    produced = producer_config(s)
    assert produced["bootstrap.servers"] == "k1:9093,k2:9093"
    assert (produced["security.protocol"], produced["sasl.username"]) == ("SASL_SSL", "riskloop")
    assert produced["sasl.password"] == "s3cret"
    assert produced["enable.idempotence"] is True  # the producer's own settings stay
    creds = faust_config(s)["broker_credentials"]
    assert (creds.username, creds.password, creds.mechanism.value) == (
        "riskloop",
        "s3cret",
        "SCRAM-SHA-512",
    )
    assert creds.protocol.value == "SASL_SSL"  # TLS: Faust got a context
    kwargs = kafka_clients.aiokafka(s)
    assert kwargs["ssl_context"].check_hostname
    assert faust_config(settings())["broker_credentials"] is None


def test_the_ca_file_reaches_librdkafka_and_a_missing_one_is_refused_by_name(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValidationError, match=r"ca_file .*none\.pem is not a file"):
        settings(**SECURED, ca_file=tmp_path / "none.pem")
    ca = tmp_path / "ca.pem"
    ca.write_text("not a certificate", encoding="utf-8")
    s = settings(**SECURED, ca_file=ca)
    assert kafka_clients.confluent(s)["ssl.ca.location"] == str(ca)


def test_a_worker_subprocess_gets_the_credentials() -> None:
    env = subprocess_env(settings(**SECURED), {})
    assert env["RISKLOOP_KAFKA_AUTH__PROTOCOL"] == "SASL_SSL"
    assert env["RISKLOOP_KAFKA_AUTH__PASSWORD"] == "s3cret"
    again = Settings(_env_file=None)  # type: ignore[call-arg]
    assert again.kafka_auth.protocol == "PLAINTEXT"  # nothing leaked into this process


def test_a_client_certificate_reaches_both_libraries_and_goes_with_its_key(
    tmp_path: Path,
) -> None:
    from infra import dev_tls

    tls = dev_tls.ensure(tmp_path, password="pw")
    cert, key = dev_tls.client_certificate(tmp_path, "riskloop")
    s = settings(protocol="SSL", ca_file=tls.ca_file, cert_file=cert, key_file=key)
    c = kafka_clients.confluent(s)
    assert (c["security.protocol"], c["ssl.certificate.location"]) == ("SSL", str(cert))
    assert c["ssl.key.location"] == str(key)
    assert "sasl.username" not in c
    # aiokafka's context loaded the pair (a key that did not match would raise here)
    assert kafka_clients.aiokafka(s)["ssl_context"].verify_mode.name == "CERT_REQUIRED"
    with pytest.raises(ValidationError, match="cert_file and key_file go together"):
        settings(protocol="SSL", cert_file=cert)
    with pytest.raises(ValidationError, match="cert_file is for SSL or SASL_SSL"):
        settings(protocol="PLAINTEXT", cert_file=cert, key_file=key)
    other_cert, _ = dev_tls.client_certificate(tmp_path, "intake")
    with pytest.raises(Exception, match="KEY_VALUES_MISMATCH|key values mismatch"):
        kafka_clients.aiokafka(
            settings(protocol="SSL", ca_file=tls.ca_file, cert_file=other_cert, key_file=key)
        )
