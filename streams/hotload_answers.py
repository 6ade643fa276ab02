"""What the live workers answered to a hot-load (the CLI's ``rules publish`` waits for it).

``rules publish`` used to print "published" once the broker took the record, for a pack every
worker then refused. Here the CLI counts the live workers (the members of the workers' consumer
group, ``app_id``), notes where ``control.status`` ends, publishes, and reads the status records
that follow until each live worker has answered for that pack and version, or the time is up.
Only status records signed by a trusted key count: anyone could write "accepted" to the topic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from confluent_kafka import KafkaException

from streams.control_keyring import load_keyring
from streams.verdicts import TopicTail

if TYPE_CHECKING:
    from collections.abc import Callable

    from config.settings import Settings

HOTLOAD_TIMEOUT = 30.0
"""Seconds to wait for every worker: compiling a pack and running its examples takes a worker
well under a second, a worker busy with a rebalance a few more."""

ANSWERS = frozenset({"accepted", "refused", "unchanged"})


@dataclass
class Answers:
    """The live workers' answers to one publication."""

    expected: int  # live workers when it was published
    by_worker: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def refused(self) -> list[dict[str, Any]]:
        """The answers of the workers that refused the publication (each with its reason)."""
        return [a for a in self.by_worker.values() if a["status"] == "refused"]

    @property
    def complete(self) -> bool:
        """True once every worker live at publication has answered: waiting can stop."""
        return len(self.by_worker) >= self.expected


def live_workers(settings: Settings, timeout: float = 10.0) -> int:
    """How many workers are running: members of the workers' consumer group (0 if none)."""
    from streams.admin import admin_client

    client = admin_client(settings)  # referenced until the future resolves, else it never does
    try:
        futures = client.describe_consumer_groups([settings.app_id], request_timeout=timeout)
        description = futures[settings.app_id].result(timeout=timeout + 5)
    except (KafkaException, TimeoutError):
        return 0
    return len(description.members)


def publish_and_collect(
    settings: Settings,
    send: Callable[[], None],
    *,
    kind: str,
    name: str,
    version: str,
    timeout: float = HOTLOAD_TIMEOUT,
) -> Answers:
    """``send()`` the publication and collect each live worker's status on it."""
    keyring = load_keyring(settings)  # an answer not signed by a trusted worker is no answer
    expected = live_workers(settings)
    tail = TopicTail(settings, settings.topics.status)
    try:
        send()
        answers = Answers(expected)
        if expected == 0:
            return answers
        for msg in tail.messages(timeout):
            verdict = keyring.verify(tail.topic, msg.key(), msg.value(), msg.headers())
            record = _status(msg.value()) if verdict.ok else None
            if record is None or not _answers(record, settings, kind, name, version):
                continue
            answers.by_worker[record["worker"]] = record
            if answers.complete:
                break
        return answers
    finally:
        tail.close()


def _status(value: bytes | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        record = json.loads(value)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _answers(
    record: dict[str, Any], settings: Settings, kind: str, name: str, version: str
) -> bool:
    """A status from one of our workers about this publication (a refusal that could not even
    read the version names none)."""
    return (
        str(record.get("worker", "")).startswith(f"{settings.app_id}@")
        and record.get("kind") == kind
        and record.get("name") == name
        and record.get("status") in ANSWERS
        and record.get("version") in (version, "")
    )
