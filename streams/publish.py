"""Publishing to and reading the compacted control topics (the CLI's side of hot-loading)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from config.settings import Settings
from rules.compiler import load_pack, load_pack_text
from rules.testing import failures, run_examples
from schemas.errors import ConfigError, RiskLoopError
from schemas.records import RulePackPublication
from streams.admin import create_topics, require_broker


def _producer(settings: Settings) -> Producer:
    return Producer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "log_level": 0,
            "enable.idempotence": True,
        }
    )


def send(settings: Settings, topic: str, key: str, value: bytes | None) -> None:
    """Produce one control record (None = tombstone) and wait until the broker has it."""
    require_broker(settings)
    create_topics(settings)
    producer = _producer(settings)
    errors: list[str] = []

    def report(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    producer.produce(topic, key=key.encode(), value=value, on_delivery=report)
    producer.flush(30)
    if errors:
        raise ConfigError(f"publishing to {topic} failed: {errors[0]}")


def read_all(settings: Settings, topic: str) -> Iterator[tuple[str, bytes | None]]:
    """Every record of a (compacted) control topic, oldest first, as (key, value)."""
    require_broker(settings)
    c = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": f"riskloop-cli-{uuid.uuid4().hex[:8]}",
                  "enable.auto.commit": False, "log_level": 0})  # fmt: skip
    try:
        meta = c.list_topics(topic, timeout=10)
        if topic not in meta.topics or meta.topics[topic].error is not None:
            return
        parts = []
        ends = {}
        for p in meta.topics[topic].partitions:
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                parts.append(TopicPartition(topic, p, low))
                ends[p] = high
        if not parts:
            return
        c.assign(parts)
        done: set[int] = set()
        while len(done) < len(parts):
            msg = c.poll(5)
            if msg is None:
                break
            if msg.error():
                continue
            yield (msg.key() or b"").decode(), msg.value()
            partition, offset = msg.partition() or 0, msg.offset() or 0
            if offset + 1 >= ends[partition]:
                done.add(partition)
    finally:
        c.close()


def publish_pack(
    settings: Settings, path: Path, who: str, *, force: bool = False
) -> RulePackPublication:
    """Validate, compile and test a pack locally, then publish it (``force`` skips the tests)."""
    pack = load_pack(path)
    failed = failures(run_examples(pack))
    if failed and not force:
        names = ", ".join(f"{f.rule_id}/{f.example}" for f in failed[:5])
        raise ConfigError(
            f"{path}: {len(failed)} example(s) fail ({names}); a failing pack cannot be activated"
        )
    pub = RulePackPublication(
        name=pack.name, version=pack.version, content_hash=pack.content_hash,
        yaml=Path(path).read_text(encoding="utf-8"), published_by=who, published_at=datetime.now(UTC),
    )  # fmt: skip
    send(settings, settings.topics.rulepacks, pack.name, pub.model_dump_json().encode())
    return pub


def rollback_pack(settings: Settings, name: str, who: str) -> RulePackPublication:
    """Republish the version before the latest one of ``name`` (marked as a rollback)."""
    history = [
        RulePackPublication.model_validate_json(v)
        for k, v in read_all(settings, settings.topics.rulepacks)
        if k == name and v is not None
    ]
    history = [pub for pub in history if _activatable(pub)]
    versions: list[RulePackPublication] = []
    for pub in history:
        if pub.rollback_of is None:
            versions.append(pub)
        else:  # a rollback drops the version it rolled back from
            versions = [v for v in versions if v.version != pub.rollback_of]
    if not versions:
        raise ConfigError(f"no published versions of pack {name!r} on {settings.topics.rulepacks}")
    current = versions[-1]
    previous = versions[-2] if len(versions) > 1 else _shipped(settings, name, current.version)
    if previous is None:
        raise ConfigError(f"pack {name!r} has no version before {current.version} to roll back to")
    pub = previous.model_copy(
        update={
            "rollback_of": current.version,
            "published_by": who,
            "published_at": datetime.now(UTC),
        }
    )
    send(settings, settings.topics.rulepacks, name, pub.model_dump_json().encode())
    return pub


def _activatable(pub: RulePackPublication) -> bool:
    """Would a worker accept this publication? (Refused ones never ran: not a rollback target.)"""
    try:
        pack = load_pack_text(pub.yaml, origin=f"{pub.name}@{pub.version}")
    except RiskLoopError:
        return False
    return not failures(run_examples(pack)) and pack.version == pub.version


def _shipped(settings: Settings, name: str, newer_than: str) -> RulePackPublication | None:
    """The shipped pack of that name, if it is older than the published one (the natural base)."""
    for path in sorted(Path(settings.rule_packs_dir).glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        pack = load_pack_text(text, origin=str(path))
        if pack.name == name and pack.version != newer_than:
            return RulePackPublication(
                name=pack.name, version=pack.version, content_hash=pack.content_hash, yaml=text,
                published_by="shipped", published_at=datetime.now(UTC),
            )  # fmt: skip
    return None


def worker_status(settings: Settings) -> list[dict[str, Any]]:
    """The latest status record per worker and hot-loaded thing."""
    latest: dict[str, dict[str, Any]] = {}
    for key, value in read_all(settings, settings.topics.status):
        if value is not None:
            latest[key] = json.loads(value)
    return sorted(latest.values(), key=lambda s: (s["kind"], s["name"], s["worker"]))


def rollback_fenceset(settings: Settings, name: str) -> tuple[str, str]:
    """Republish the fence set version before the latest valid one; returns (from, to)."""
    from geo.fences import parse_fence_set

    versions: list[tuple[str, bytes]] = []
    for key, value in read_all(settings, settings.topics.geofences):
        if key != name or value is None:
            continue
        try:
            version = parse_fence_set(value).version
        except RiskLoopError:
            continue  # refused by the workers too: never ran, not a rollback target
        versions = [v for v in versions if v[0] != version] + [(version, value)]
    if len(versions) < 2:
        raise ConfigError(
            f"fence set {name!r} has no earlier valid version on {settings.topics.geofences}"
        )
    (current, _), (previous, payload) = versions[-1], versions[-2]
    send(settings, settings.topics.geofences, name, payload)
    return current, previous
