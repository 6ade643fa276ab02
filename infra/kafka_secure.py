"""A secured Kafka broker: SASL/SCRAM-SHA-512 for clients, StandardAuthorizer ACLs (issue #19).

On the plain dev broker anyone who reaches port 9092 may write a rule pack. This second,
opt-in broker (its own folder, ports and process; the plain one keeps running) shows the
production shape: every client names a principal and proves it with a SCRAM password, and
ACLs decide what it may do —

- ``admin``: the broker's own super user (inter-broker and controller traffic, ACL changes);
- ``riskloop``: the workers and the ``riskloop`` CLI — read everything, write the control
  topics, the internal topics (alerts, tasks, status, …), Faust's ``<app_id>-…`` changelogs
  and its consumer groups;
- ``intake``: the source systems — write the source topics only (inspections, complaints,
  equipment, trucks, and the departments' dispositions), nothing else.

With ``tls_port`` the same broker also serves SASL_SSL — the production shape, SCRAM over TLS
— on that port, with a certificate of its own dev CA (``infra/dev_tls.py``: ``<root>/tls/ca.pem``
is what clients are given as ``RISKLOOP_KAFKA_AUTH__CA_FILE``). With ``mtls_port`` it also
serves SSL with client certificates required (mTLS, no SASL): a client proves who it is with a
certificate of the same CA, ``CN=<principal>``, which the broker maps to ``User:<principal>``
for the same ACLs. Brokers talk to themselves on the plaintext SASL listener.

SCRAM credentials live in the KRaft metadata log: ``kafka-storage format --add-scram`` writes
them before the first start (the broker authenticates to itself with ``admin``). The controller
listener uses SASL/PLAIN with the admin user only, because KRaft controllers cannot use SCRAM
(the credentials are in the log they serve).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from infra import dev_tls, kafka
from infra.process import ServiceProcess, ensure_port_free, stop_pid_file
from infra.secrets import write_private

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from config.settings import DevStackSettings, TopicSettings

MECHANISM = "SCRAM-SHA-512"
PRINCIPALS = ("admin", "riskloop", "intake")


@dataclass(frozen=True)
class SecureKafka:
    """Where a secured broker lives and the passwords of its three principals."""

    root: Path
    port: int
    controller_port: int
    passwords: Mapping[str, str]
    heap: str = "384m"
    tls_port: int | None = None
    """The SASL_SSL listener's port (None: no TLS listener)."""
    mtls_port: int | None = None
    """The SSL listener's port, client certificates required (None: none)."""

    @property
    def bootstrap(self) -> str:
        """Where clients connect: the SASL listener on loopback."""
        return f"127.0.0.1:{self.port}"

    @property
    def tls_bootstrap(self) -> str:
        """Where clients connect over TLS (SASL_SSL) on loopback."""
        if self.tls_port is None:
            raise ValueError("this secured broker has no TLS listener (tls_port)")
        return f"127.0.0.1:{self.tls_port}"

    @property
    def tls(self) -> dev_tls.DevTls:
        """The TLS listener's CA and keystore (made at the first start; the keystore's password
        is the admin principal's, already in the 0600 server.properties)."""
        return dev_tls.ensure(self.root / "tls", password=self.passwords["admin"])

    @property
    def process(self) -> ServiceProcess:
        """This broker's process: its own pid file and log under its own root, so stopping
        the plain broker never touches it, and its own server.properties path on the command
        line as the marker that tells it from the plain one's (both run kafka.Kafka).
        """
        return ServiceProcess(
            "kafka-secure",
            "the secured Kafka broker",
            self.root / "kafka.pid",
            self.root / "logs" / "server.out",
            str(self.root / "server.properties"),
        )

    def client_certificate(self, principal: str) -> tuple[Path, Path]:
        """``principal``'s client certificate and key for the mTLS listener (made once)."""
        folder = self.tls.ca_file.parent  # the CA is made first
        return dev_tls.client_certificate(folder, principal)

    def client_config(
        self, principal: str, *, tls: bool = False, mtls: bool = False
    ) -> dict[str, str | int | float | bool]:
        """confluent-kafka settings of a client authenticating as ``principal``; with ``tls``
        over the SASL_SSL listener, checking the broker against the dev CA; with ``mtls`` over
        the SSL listener with ``principal``'s client certificate instead of a password."""
        if mtls:
            if self.mtls_port is None:
                raise ValueError("this secured broker has no mTLS listener (mtls_port)")
            cert, key = self.client_certificate(principal)
            return {
                "bootstrap.servers": f"127.0.0.1:{self.mtls_port}",
                "security.protocol": "SSL",
                "ssl.ca.location": str(self.tls.ca_file),
                "ssl.certificate.location": str(cert),
                "ssl.key.location": str(key),
                "log_level": 0,
            }
        config: dict[str, str | int | float | bool] = {
            "bootstrap.servers": self.tls_bootstrap if tls else self.bootstrap,
            "security.protocol": "SASL_SSL" if tls else "SASL_PLAINTEXT",
            "sasl.mechanism": MECHANISM,
            "sasl.username": principal,
            "sasl.password": self.passwords[principal],
            "log_level": 0,
        }
        if tls:
            config["ssl.ca.location"] = str(self.tls.ca_file)
        return config


def server_properties(sk: SecureKafka) -> str:
    """The broker+controller configuration (one node, loopback only)."""
    admin = sk.passwords["admin"]
    also = {name: port for name, port in (("SASL_SSL", sk.tls_port), ("SSL", sk.mtls_port)) if port}
    listeners = kafka.combined_node("SASL_PLAINTEXT", sk.port, sk.controller_port, also)
    scram = f'org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="{admin}";'
    tls = ""
    if sk.tls_port is not None:
        store = sk.tls
        tls = f"""\
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={scram}
listener.name.sasl_ssl.ssl.keystore.type=PKCS12
listener.name.sasl_ssl.ssl.keystore.location={store.keystore}
listener.name.sasl_ssl.ssl.keystore.password={store.password}
listener.name.sasl_ssl.ssl.key.password={store.password}
"""
    if sk.mtls_port is not None:
        store = sk.tls
        tls += f"""\
listener.name.ssl.ssl.client.auth=required
listener.name.ssl.ssl.keystore.type=PKCS12
listener.name.ssl.ssl.keystore.location={store.keystore}
listener.name.ssl.ssl.keystore.password={store.password}
listener.name.ssl.ssl.key.password={store.password}
listener.name.ssl.ssl.truststore.type=PEM
listener.name.ssl.ssl.truststore.location={store.ca_file}
ssl.principal.mapping.rules=RULE:^CN=([a-z][a-z0-9_-]*)$/$1/,DEFAULT
"""
    return f"""\
{listeners}sasl.enabled.mechanisms={MECHANISM}
sasl.mechanism.inter.broker.protocol={MECHANISM}
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="{admin}" user_admin="{admin}";
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config={scram}
{tls}authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false
log.dirs={sk.root / "data"}
{kafka.ONE_NODE}auto.create.topics.enable=false
"""


def start(dev: DevStackSettings, sk: SecureKafka) -> int:
    """Format (once, with the SCRAM users) and start the broker; its pid once it answers."""
    process = sk.process
    running = process.running()
    if running:
        return running
    java, _ = kafka.require_tools()
    ensure_port_free(sk.port, "the secured Kafka broker")
    ensure_port_free(sk.controller_port, "the secured Kafka controller")
    if sk.tls_port is not None:
        ensure_port_free(sk.tls_port, "the secured Kafka's TLS listener")
    if sk.mtls_port is not None:
        ensure_port_free(sk.mtls_port, "the secured Kafka's mTLS listener")
    jars = kafka.fetch_jars(dev)
    for sub in ("data", "logs"):
        (sk.root / sub).mkdir(parents=True, exist_ok=True)
    write_private(sk.root / "server.properties", server_properties(sk))  # the admin password
    (sk.root / "log4j.properties").write_text(kafka.LOG4J, encoding="utf-8")
    kafka.format_storage(java, jars, sk.root, *_scram_users(sk), what="the secured Kafka")
    jvm_flags = ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
    argv = kafka.broker_command(java, jars, sk.root, sk.heap, jvm_flags)
    pid = process.spawn(argv)
    process.wait_ready(lambda: _answers(sk), timeout=dev.start_timeout, pid=pid)
    return pid


def stop(sk: SecureKafka) -> bool:
    """Stop the broker of ``sk`` (by its pid file and command line); True if it ran."""
    process = sk.process
    return stop_pid_file(process.pid_file, process.marker, timeout=60) is not None


def _scram_users(sk: SecureKafka) -> list[str]:
    """``kafka-storage format`` arguments that write the principals' SCRAM credentials into
    the metadata log before the first start: the broker authenticates to itself with them."""
    return [
        arg
        for name in PRINCIPALS
        for arg in ("--add-scram", f"{MECHANISM}=[name={name},password={sk.passwords[name]}]")
    ]


def _answers(sk: SecureKafka) -> bool:
    """Does the broker answer the admin principal (SASL handshake and metadata)?"""
    try:
        AdminClient(sk.client_config("admin")).list_topics(timeout=2)
    except Exception:
        return False
    return True


def acl_bindings(topics: TopicSettings, app_id: str) -> list[AclBinding]:
    """Least privilege for ``riskloop`` and ``intake`` on topics named by ``topics``.

    (confluent-kafka calls Kafka's CLUSTER resource ``BROKER``; its name is ``kafka-cluster``.)
    """
    sources = [*topics.sources().values(), topics.dispositions]
    internal = [*topics.control(), *topics.outputs()]
    allow = AclPermissionType.ALLOW
    literal, prefixed = ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED

    def acl(
        who: str, kind: ResourceType, name: str, pattern: ResourcePatternType, op: AclOperation
    ) -> AclBinding:
        return AclBinding(kind, name, pattern, f"User:{who}", "*", op, allow)

    riskloop = [
        acl("riskloop", ResourceType.TOPIC, "*", literal, AclOperation.READ),  # "*": every topic
        acl("riskloop", ResourceType.TOPIC, "*", literal, AclOperation.DESCRIBE),
        *(acl("riskloop", ResourceType.TOPIC, t, literal, AclOperation.ALL) for t in internal),
        acl("riskloop", ResourceType.TOPIC, topics.task_prefix, prefixed, AclOperation.ALL),
        acl("riskloop", ResourceType.TOPIC, f"{app_id}-", prefixed, AclOperation.ALL),
        acl("riskloop", ResourceType.GROUP, "riskloop", prefixed, AclOperation.ALL),
        acl("riskloop", ResourceType.GROUP, app_id, prefixed, AclOperation.ALL),
        acl("riskloop", ResourceType.BROKER, "kafka-cluster", literal, AclOperation.DESCRIBE),
        acl("riskloop", ResourceType.BROKER, "kafka-cluster", literal, AclOperation.CREATE),
        acl(
            "riskloop", ResourceType.BROKER, "kafka-cluster", literal, AclOperation.IDEMPOTENT_WRITE
        ),
    ]
    intake = [
        *(acl("intake", ResourceType.TOPIC, t, literal, AclOperation.WRITE) for t in sources),
        *(acl("intake", ResourceType.TOPIC, t, literal, AclOperation.DESCRIBE) for t in sources),
        acl("intake", ResourceType.BROKER, "kafka-cluster", literal, AclOperation.IDEMPOTENT_WRITE),
    ]
    return list(dict.fromkeys(riskloop + intake))  # app_id "riskloop" repeats a group prefix


def apply_acls(sk: SecureKafka, bindings: list[AclBinding], timeout: float = 30) -> None:
    """Create ``bindings`` as the admin principal (idempotent: an existing ACL stays one)."""
    client = AdminClient(sk.client_config("admin"))
    for future in client.create_acls(bindings, request_timeout=timeout).values():
        future.result(timeout=timeout + 5)
