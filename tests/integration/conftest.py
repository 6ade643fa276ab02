"""Integration tests run against the real Kafka, Redis and PostgreSQL that `riskloop dev up`
started (scripts/test.sh does that). If they are not there, the tests fail — never skip."""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
import requests
from confluent_kafka import Consumer, KafkaException, TopicPartition

from bench import workers
from config.settings import AuthSettings, Settings, TopicSettings
from infra import kafka, postgres
from infra.devkey import DevKey
from infra.ports import free_port
from infra.process import stop_child
from schemas.validation.uscc import make_uscc
from streams import kafka_clients
from streams.admin import admin_client, create_topics
from streams.producer import make_producer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ROOT = Path(__file__).resolve().parents[2]

# one way to start a worker for the bench and the tests; the integration tests import them here
settings_env = workers.settings_env
start_worker = workers.start_worker


def failed_inspection(
    event_id: str,
    uscc: str,
    *,
    region: str = "330106",
    name: str = "杭州知味西湖餐饮管理有限公司",
    minutes_ago: float = 60,
    violations: bool = True,
) -> dict[str, Any]:
    """A failed food inspection ``minutes_ago`` old, one critical finding (with ``violations``
    its violation too): raises a warning and opens a task for the enterprise's market bureau."""
    event: dict[str, Any] = {
        "event_id": event_id,
        "event_time": (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat(),
        "uscc": uscc,
        "entity_name": name,
        "region_code": region,
        "item_code": "FOOD-INSP-01",
        "outcome": "fail",
        "critical_count": 1,
    }
    if violations:
        event["violations"] = [
            {"code": "C03", "severity": "critical", "description": "冷藏温度超标"}
        ]
    return event


def failed_inspection_record(
    event_id: str, region: str = "330106", **details: Any
) -> tuple[bytes, bytes]:
    """:func:`failed_inspection` of an enterprise made from ``event_id`` in ``region``, as the
    (key, value) a source system writes: keyed by its USCC, JSON. ``details`` are
    :func:`failed_inspection`'s; unless given, 30 minutes old and without its violation list."""
    uscc = make_uscc(event_id, region)
    shape = {"name": "测试餐饮店", "minutes_ago": 30, "violations": False, **details}
    event = failed_inspection(event_id, uscc, region=region, **shape)
    return uscc.encode(), json.dumps(event, ensure_ascii=False).encode()


def start_console(s: Settings, log: Path) -> subprocess.Popen[bytes]:
    """``python -m streams console`` on settings ``s``, its output to ``log``; it is ready
    (``wait_ready``) once its live feed reads the alerts topic. The caller stops it."""
    return workers.start(s, log, "console")


def run_cli(s: Settings, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``riskloop ARGS`` in a subprocess with exactly the settings ``s``; never raises on a
    non-zero exit (the tests assert on it)."""
    return subprocess.run(
        [sys.executable, "-m", "streams", *args],
        check=False,
        cwd=ROOT,
        env=settings_env(s),
        capture_output=True,
        text=True,
        timeout=timeout,
        encoding="utf-8",
    )


@pytest.fixture(scope="session")
def broker() -> str:
    base = Settings(_env_file=None)  # type: ignore[call-arg]
    if not kafka.probe(base.bootstrap_servers, timeout=5):
        pytest.fail(
            f"no Kafka broker at {base.bootstrap_servers}: run `riskloop dev up` (scripts/test.sh does)"
        )
    return base.bootstrap_servers


@contextlib.contextmanager
def private_settings(
    tmp: Path, *, partitions: int | None = None, **overrides: Any
) -> Iterator[Settings]:
    """Real broker, private topics (``partitions`` each, if given), a fresh consumer group and
    data folder, SQLite in ``tmp`` (unless ``overrides`` name another store), a free web port.
    The topics are deleted afterwards so the broker stays small."""
    run = uuid.uuid4().hex[:8]
    topics = TopicSettings.for_run(run)
    if partitions is not None:
        topics = topics.model_copy(update={"partitions": partitions})
    fields: dict[str, Any] = {
        "app_id": f"riskloop-test-{run}",
        "data_dir": tmp / "worker",
        "sql_url": f"sqlite:///{tmp / 'riskloop.db'}",
        "web_port": free_port(),
        "log_format": "json",
        "topics": topics,
        # every worker of a test shares one snapshot key, as every worker of a deployment
        # must: a partition's models move with it (streams/model_state.py)
        "snapshot_key": secrets.token_hex(32),
        # the test's own signing key (tests/people.py mints with it): nothing shared
        "auth": AuthSettings(jwks=str(tmp / "auth" / "jwks.json")),
        # dead-letter originals are sealed, as in any deployment: read them with original_value
        "deadletter_key": secrets.token_hex(16),
    }
    s = Settings(_env_file=None, **{**fields, **overrides})  # type: ignore[call-arg]
    DevKey(tmp / "auth").ensure()
    create_topics(s)
    try:
        yield s
    finally:
        admin = admin_client(s)
        mine = [t for t in admin.list_topics(timeout=10).topics if run in t]
        if mine:
            for future in admin.delete_topics(mine, operation_timeout=30).values():
                with contextlib.suppress(Exception):
                    future.result()


@pytest.fixture
def live_settings(tmp_path: Path, broker: str) -> Iterator[Settings]:
    """:func:`private_settings` for one test."""
    with private_settings(tmp_path) as s:
        yield s


@contextlib.contextmanager
def private_database() -> Iterator[str]:
    """A PostgreSQL database of its own on the server `riskloop dev up` started (its URL),
    created here and dropped afterwards, so a test never meets other tests' tables.

    The URL carries the server's generated password: tests connect with it directly as well
    as hand it to workers (a throwaway database on a loopback dev server; a settings repr
    stars it)."""
    dev = Settings(_env_file=None).dev  # type: ignore[call-arg]
    name = f"riskloop_t_{uuid.uuid4().hex[:8]}"
    try:
        admin = postgres.connect(dev, dev.postgres_db)  # with the generated password
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"no PostgreSQL at 127.0.0.1:{dev.postgres_port}: run `riskloop dev up` ({exc})"
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield postgres.url(dev, name).render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def worker(
    live_settings: Settings, tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start `riskloop worker` subprocesses (with ``live_settings`` or a variant of them);
    all are stopped at the end of the test."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(s: Settings | None = None) -> subprocess.Popen[bytes]:
        proc = start_worker(s or live_settings, tmp_path / f"worker-{len(procs)}.log")
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        stop_child(proc)


def wait_ready(proc: subprocess.Popen[bytes], base: str, timeout: float = 60) -> None:
    """Until the worker at ``base`` answers /ready with 200; fails if it exits first."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, "the worker exited"
        try:
            if requests.get(f"{base}/ready", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, f"worker not ready within {timeout:.0f} s"
        time.sleep(0.3)


def two_workers(start: Callable[..., subprocess.Popen[bytes]], s: Settings, tmp: Path) -> Settings:
    """Start two workers of one group (``start``: the ``worker`` fixture), the second with its
    own web port, data folder and SQLite file (two SQLite writers would race), and wait until
    both are ready; the second's settings."""
    second = s.with_overrides(
        web_port=free_port(),
        data_dir=tmp / "worker-b",
        sql_url=f"sqlite:///{tmp / 'worker-b.db'}",
    )
    for settings in (s, second):
        wait_ready(start(settings), f"http://127.0.0.1:{settings.web_port}", timeout=120)
    return second


def high_watermark(c: Consumer, topic: str, partition: int, timeout: float = 30) -> int:
    """The partition's end offset; retried while a new topic's leader is still being elected."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return int(c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1])
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def tail_consumer(bootstrap: str, topics: list[str]) -> Consumer:
    """A consumer positioned at the current end of ``topics`` (sees only what comes next)."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"t-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    meta = c.list_topics(timeout=10)
    parts = []
    for t in topics:
        for p in meta.topics[t].partitions:
            parts.append(TopicPartition(t, p, high_watermark(c, t, p)))
    c.assign(parts)
    return c


def collect(
    consumer: Consumer, until: Callable[[list[tuple[str, dict]]], bool], timeout: float = 60
) -> list[tuple[str, dict]]:
    """Poll JSON messages as (topic, value) until ``until(messages)`` or the timeout."""
    got: list[tuple[str, dict]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not until(got):
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            got.append((msg.topic(), json.loads(msg.value())))
    return got


def produce(bootstrap: str, topic: str, items: list[tuple[bytes | None, bytes]]) -> None:
    p = make_producer(bootstrap)
    for key, value in items:
        p.produce(topic, key=key, value=value)
    assert p.flush(30) == 0


def wait_model_snapshot(
    s: Settings, key: str, model: str, until: Callable[[dict[str, int]], bool], timeout: float
) -> bytes:
    """The snapshot of ``model`` in ``key``'s partition's state changelog, as the latest
    checkpoint holds it, once its source offsets satisfy ``until`` (tests wait for a checkpoint
    that covers what they produced)."""
    from models.snapshot import read_header
    from streams.checkpoint import changelog_topic, read_partition, replay_changelog
    from streams.model_state import snapshot_blobs
    from streams.rekey import partition_of

    partition = partition_of(key, s.topics.partitions)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            records = read_partition(
                kafka_clients.confluent(s), changelog_topic(s.app_id), partition
            )
        except Exception:  # the worker creates the topic on its first checkpoint
            records = []
        blob = snapshot_blobs(replay_changelog(records).state.model_records).get(model)
        if blob is not None and until(read_header(blob)[0].offsets):
            return blob
        time.sleep(0.5)
    raise AssertionError(f"no checkpoint of {model} on partition {partition} in {timeout:.0f} s")
