"""How every Kafka client of RiskLoop reaches the broker: where, and as whom.

Three client libraries talk to the broker: confluent-kafka (the worker's producer, the CLI's
consumers, the admin client), aiokafka (the control-topic reader, the console's live feeds, the
broker probe) and Faust (aiokafka underneath). Each spells the same settings its own way; this
module is the one translation of ``Settings.kafka_broker`` and ``Settings.kafka_auth``, so a
secured cluster (SASL/SCRAM over TLS in production, or TLS with client certificates) is
configured once and every client follows. A client built anywhere else would connect without credentials and be refused by the
cluster's ACLs (README "Securing Kafka").

>>> from config.settings import Settings
>>> plain = Settings(_env_file=None)
>>> confluent(plain)
{'bootstrap.servers': '127.0.0.1:9092'}
>>> aiokafka(plain)
{'bootstrap_servers': '127.0.0.1:9092', 'security_protocol': 'PLAINTEXT'}
>>> secured = Settings(_env_file=None, kafka_auth={"protocol": "SASL_PLAINTEXT",
...     "username": "riskloop", "password": "s3cret"})
>>> c = confluent(secured)
>>> c["security.protocol"], c["sasl.mechanism"], c["sasl.username"], c["sasl.password"]
('SASL_PLAINTEXT', 'SCRAM-SHA-512', 'riskloop', 's3cret')
>>> a = aiokafka(secured)
>>> a["security_protocol"], a["sasl_mechanism"], a["sasl_plain_username"]
('SASL_PLAINTEXT', 'SCRAM-SHA-512', 'riskloop')
>>> faust_credentials(plain) is None, type(faust_credentials(secured)).__name__
(True, 'SASLCredentials')
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faust.types.auth import CredentialsT

    from config.settings import Settings


def confluent(settings: Settings) -> dict[str, Any]:
    """confluent-kafka (librdkafka) settings: the bootstrap servers and, if configured, the
    security protocol, SASL mechanism and credentials, and the CA file."""
    auth = settings.kafka_auth
    out: dict[str, Any] = {"bootstrap.servers": settings.bootstrap_servers}
    if auth.protocol == "PLAINTEXT":
        return out
    out["security.protocol"] = auth.protocol
    if auth.sasl:
        out["sasl.mechanism"] = auth.mechanism
        out["sasl.username"] = auth.username
        out["sasl.password"] = auth.password.get_secret_value() if auth.password else ""
    if auth.ca_file is not None:
        out["ssl.ca.location"] = str(auth.ca_file)
    if auth.cert_file is not None and auth.key_file is not None:
        out["ssl.certificate.location"] = str(auth.cert_file)
        out["ssl.key.location"] = str(auth.key_file)
    return out


def aiokafka(settings: Settings) -> dict[str, Any]:
    """Aiokafka keyword arguments (consumer, producer, client): the same, in its spelling; TLS
    as an ``ssl.SSLContext`` that verifies the brokers against the CA file (or the system's)."""
    auth = settings.kafka_auth
    out: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": auth.protocol,
    }
    if auth.sasl:
        out["sasl_mechanism"] = auth.mechanism
        out["sasl_plain_username"] = auth.username
        out["sasl_plain_password"] = auth.password.get_secret_value() if auth.password else ""
    if auth.tls:
        out["ssl_context"] = _ssl_context(settings)
    return out


def faust_credentials(settings: Settings) -> CredentialsT | None:
    """Faust's ``broker_credentials`` (None for a plaintext broker): Faust hands them to the
    aiokafka consumer, producer and admin client it builds."""
    from faust.auth import SASLCredentials, SSLCredentials

    auth = settings.kafka_auth
    if auth.protocol == "PLAINTEXT":
        return None
    context = _ssl_context(settings) if auth.tls else None
    if not auth.sasl:
        return SSLCredentials(context)
    password = auth.password.get_secret_value() if auth.password else None
    return SASLCredentials(
        username=auth.username, password=password, ssl_context=context, mechanism=auth.mechanism
    )


def _ssl_context(settings: Settings) -> ssl.SSLContext:
    """A client TLS context checking the brokers' certificates and host names, presenting the
    client's own certificate where one is configured (mTLS)."""
    auth = settings.kafka_auth
    context = ssl.create_default_context(cafile=str(auth.ca_file) if auth.ca_file else None)
    if auth.cert_file is not None and auth.key_file is not None:
        context.load_cert_chain(str(auth.cert_file), str(auth.key_file))
    return context
