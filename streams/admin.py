"""Kafka administration through confluent-kafka's AdminClient: reachability, topics.

Kept apart from the agents: these run from the CLI and tests, before any worker exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from infra.errors import InfraError
from streams import kafka_clients
from streams.checkpoint import changelog_topic

if TYPE_CHECKING:
    from collections.abc import Sequence

    from config.settings import Settings

DEFAULT_DEPARTMENTS = (
    "market_supervision",
    "special_equipment",
    "urban_management",
    "health",
    "emergency",
    "risk_centre",
)


def admin_client(settings: Settings) -> AdminClient:
    """A broker admin client with librdkafka's own log lines off: its failures reach the
    caller as exceptions and become one clear line (:func:`require_broker`)."""
    return AdminClient({**kafka_clients.confluent(settings), "log_level": 0})


def require_broker(settings: Settings, timeout: float = 5.0) -> dict[str, int]:
    """Topic → partition count, or one clear line if the broker cannot be reached."""
    try:
        meta = admin_client(settings).list_topics(timeout=timeout)
    except KafkaException as exc:
        auth = settings.kafka_auth
        if auth.protocol != "PLAINTEXT":
            ca = "the CA file does" if auth.ca_file is not None else "the system's CAs do"
            causes = [
                cause
                for cause, possible in (
                    ("a wrong password", auth.sasl),
                    (f"a broker certificate {ca} not vouch for", auth.tls),
                    ("a client certificate the broker does not accept", auth.cert_file is not None),
                    (
                        "a broker that asks for a client certificate (__CERT_FILE, __KEY_FILE)",
                        auth.protocol == "SSL" and auth.cert_file is None,
                    ),
                )
                if possible
            ]
            if auth.sasl:
                who = f"as {auth.username} "
            elif auth.cert_file is not None:
                who = f"as the holder of {auth.cert_file.name} "
            else:
                who = ""
            hint = (
                f"{who}over {auth.protocol}: check RISKLOOP_KAFKA_BROKER and"
                f" RISKLOOP_KAFKA_AUTH__* ({' or '.join(causes)} looks like this too)"
            )
        else:
            hint = "start it with `riskloop dev up` or set RISKLOOP_KAFKA_BROKER"
        raise InfraError(
            f"cannot reach the Kafka broker at {settings.bootstrap_servers}"
            f" ({exc.args[0].str()}); {hint}"
        ) from exc
    return {name: len(t.partitions) for name, t in meta.topics.items()}


list_topics = require_broker


def known_departments(settings: Settings) -> list[str]:
    """Departments that can receive tasks: routing table, shipped rule templates, defaults."""
    from pathlib import Path

    from loop.routing import load_table
    from rules.compiler import load_pack

    found = list(DEFAULT_DEPARTMENTS)
    for route in load_table().routes:
        found += list(route.departments)
    for path in sorted(Path(settings.rule_packs_dir).glob("*.yaml")):
        for rule in load_pack(path).rules:
            if rule.spec.task is not None:
                found.append(rule.spec.task.department)
    return list(dict.fromkeys(found))


def wanted_topics(
    settings: Settings, departments: list[str] | tuple[str, ...] = ()
) -> list[NewTopic]:
    """Every topic RiskLoop uses, with partitions and compaction from settings."""
    t = settings.topics
    data = [*t.sources().values(), t.dispositions, *t.outputs()]
    data += [f"{t.task_prefix}{d}" for d in (*known_departments(settings), *departments)]
    topics = [
        NewTopic(name, num_partitions=t.partitions, replication_factor=1)
        for name in dict.fromkeys(data)
    ]
    topics += [
        NewTopic(
            name,
            num_partitions=t.control_partitions,
            replication_factor=1,
            config={"cleanup.policy": "compact"},
        )
        for name in t.control()
    ]
    # every partition's state, written by the checkpoint (streams/checkpoint.py)
    topics.append(
        NewTopic(
            changelog_topic(settings.app_id),
            num_partitions=t.partitions,
            replication_factor=1,
            config={"cleanup.policy": "compact"},
        )
    )
    return topics


def create_topics(
    settings: Settings, departments: list[str] | tuple[str, ...] = ()
) -> tuple[list[str], list[str]]:
    """Create what is missing; returns (created, already existing). Idempotent."""
    existing_now = require_broker(settings)
    wanted = [nt for nt in wanted_topics(settings, departments) if nt.topic not in existing_now]
    existing = [nt.topic for nt in wanted_topics(settings, departments) if nt.topic in existing_now]
    created: list[str] = []
    if not wanted:
        return created, existing
    client = admin_client(settings)  # keep a reference until every future has resolved
    futures = client.create_topics(wanted, operation_timeout=30)
    for name, future in futures.items():
        try:
            future.result()
            created.append(name)
        except KafkaException as exc:
            err = exc.args[0]
            if err.name() == "TOPIC_ALREADY_EXISTS":
                existing.append(name)
            else:
                raise InfraError(f"creating topic {name} failed: {err.str()}") from exc
    wait_for_leaders(client, created)
    return created, existing


def wait_for_leaders(client: AdminClient, topics: Sequence[str], timeout: float = 30.0) -> set[str]:
    """New partitions take a moment to get a leader; using them (or listing their offsets)
    before that fails. Returns the topics still without one after ``timeout`` seconds: the
    worker's ``create_topics`` goes on (its first produce waits longer), the bench refuses."""
    import time

    deadline = time.monotonic() + timeout
    pending = set(topics)
    while pending and time.monotonic() < deadline:
        meta = client.list_topics(timeout=5)
        pending = {
            t
            for t in pending
            if t not in meta.topics
            or meta.topics[t].error is not None
            or any(p.leader < 0 for p in meta.topics[t].partitions.values())
        }
        if pending:
            time.sleep(0.1)
    return pending
