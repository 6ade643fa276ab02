"""The output digest (bench/output_digest.py) leaves out only what differs between two runs of
the same events — a snapshot's key, time and epoch, a warning's notification time, a marker's
wall clock and worker — and still tells a model that learnt one more thing apart."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from bench.output_digest import model_digestible, record_digestible, value_digestible
from config.settings import Settings
from models.worker_models import build_models
from streams.checkpoint import MARKER
from streams.model_state import snapshot_records
from streams.packing import encode


def _records(models: object, key: bytes) -> list[tuple[bytes, bytes | None]]:
    return snapshot_records(models, {"t:0": 3}, key=key)  # type: ignore[arg-type]


def test_two_snapshots_of_the_same_models_digest_alike() -> None:
    models = build_models(Settings(_env_file=None))
    first = _records(models, b"a" * 32)
    second = _records(models, b"b" * 32)  # another key, another time, another epoch
    assert [k for k, _ in first] == [k for k, _ in second]
    assert any(a != b for (_, a), (_, b) in zip(first, second, strict=True))  # the raw bytes
    for (key, a), (_, b) in zip(first, second, strict=True):
        assert record_digestible(key, a) == record_digestible(key, b), key


def test_a_model_that_learnt_digests_otherwise() -> None:
    models = build_models(Settings(_env_file=None))
    before = dict(_records(models, b"a" * 32))
    models.registry.get("complaint-classifier").labels_seen["食品安全"] += 1
    after = dict(_records(models, b"a" * 32))
    key = b"~model/complaint-classifier/0"
    assert model_digestible(key, before[key]) != model_digestible(key, after[key])


def test_a_warning_digests_without_its_notification_time_only() -> None:
    def value(notified: str, occurrences: int) -> bytes:
        return encode({"w": {"notified_at": notified, "occurrences": occurrences, "x": "y" * 600}})

    a, b = value("2026-12-05T21:31:47.1Z", 1), value("2026-12-05T22:00:00Z", 1)
    assert a != b
    assert a.startswith(b"\x00z")  # packed: the digest reads it inflated
    assert value_digestible(a) == value_digestible(b)
    assert value_digestible(a) != value_digestible(value("2026-12-05T21:31:47.1Z", 2))


def test_a_marker_digests_without_its_wall_clock_and_worker() -> None:
    def marker(at: float, worker: str, offset: int) -> bytes:
        return orjson.dumps({"absorbed": {"t:0": offset}, "seq": 1, "worker": worker, "at": at})

    key = MARKER.encode()
    now = datetime.now(UTC).timestamp()
    assert record_digestible(key, marker(now, "w1", 5)) == record_digestible(
        key, marker(0, "w2", 5)
    )
    assert record_digestible(key, marker(now, "w1", 5)) != record_digestible(
        key, marker(now, "w1", 6)
    )
