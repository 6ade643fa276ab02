"""The secured broker's ACLs: least privilege, checked on the bindings themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from confluent_kafka.admin import AclOperation, ResourceType

from config.settings import TopicSettings
from infra.kafka_secure import PRINCIPALS, SecureKafka, acl_bindings, server_properties

if TYPE_CHECKING:
    from pathlib import Path

TOPICS = TopicSettings()


def topic_ops(principal: str) -> dict[str, set[AclOperation]]:
    out: dict[str, set[AclOperation]] = {}
    for b in acl_bindings(TOPICS, "riskloop"):
        if b.principal == f"User:{principal}" and b.restype == ResourceType.TOPIC:
            out.setdefault(b.name, set()).add(b.operation)
    return out


def test_intake_writes_the_source_topics_and_nothing_else() -> None:
    ops = topic_ops("intake")
    sources = {*TOPICS.sources().values(), TOPICS.dispositions}
    assert set(ops) == sources
    assert all(o == {AclOperation.WRITE, AclOperation.DESCRIBE} for o in ops.values())


def test_riskloop_owns_the_control_and_internal_topics_and_reads_every_topic() -> None:
    ops = topic_ops("riskloop")
    for topic in [*TOPICS.control(), *TOPICS.outputs()]:
        assert ops[topic] == {AclOperation.ALL}, topic
    assert ops["*"] == {AclOperation.READ, AclOperation.DESCRIBE}
    assert not any(t in ops for t in TOPICS.sources().values())  # reads them via "*" only


def test_the_broker_authorizes_and_denies_what_no_acl_allows(tmp_path: Path) -> None:
    sk = SecureKafka(tmp_path, 1, 2, {name: f"pw-{name}" for name in PRINCIPALS})
    props = dict(line.split("=", 1) for line in server_properties(sk).splitlines() if "=" in line)
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:admin"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert "PLAINTEXT://" not in props["listeners"].replace("SASL_PLAINTEXT://", "")
