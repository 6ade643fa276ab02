"""A real Prometheus (Debian's, started by infra/prometheus.py) scraping RiskLoop's metrics.

Two tiers: first our Metrics registry served by prometheus_client in this process — proves the
Prometheus plumbing, the shipped alert rules loading, and the series names; then a real
`riskloop worker` subprocess fed by confluent-kafka — proves the worker's /metrics moves as
events flow. Each Prometheus runs on a free port with its data under tmp_path, and is stopped
in a finally.
"""

from __future__ import annotations

import json
import operator
import time
import urllib.error
import urllib.request
from collections import Counter
from functools import partial
from typing import TYPE_CHECKING

import pytest
from confluent_kafka import Consumer, TopicPartition
from prometheus_client import start_http_server

from config.settings import DevStackSettings, Settings
from infra import prometheus
from infra.ports import free_port
from schemas.sample_stream import GeneratedEvent, generate
from streams.metrics import Metrics
from streams.producer import make_producer

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable
    from pathlib import Path


def prom_dev(tmp_path: Path) -> DevStackSettings:
    return DevStackSettings(state_dir=tmp_path, prometheus_port=free_port(), start_timeout=60)


def eventually(
    dev: DevStackSettings, expr: str, ok: Callable[[float], bool], timeout: float = 30
) -> float:
    """Poll ``expr`` until its single value satisfies ``ok``; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = prometheus.scalar(dev, expr)
        if value is not None and ok(value):
            return value
        time.sleep(0.5)
    pytest.fail(f"{expr} was {value} after {timeout:.0f} s")


def test_prometheus_scrapes_our_registry_and_loads_the_alerts(tmp_path: Path) -> None:
    metrics = Metrics()
    port = free_port()
    server, _ = start_http_server(port, addr="127.0.0.1", registry=metrics.registry)
    dev = prom_dev(tmp_path)
    try:
        metrics.events_in.labels(source="inspections").inc(3)
        metrics.worker_ready.set(1)
        line = prometheus.start(dev, [f"127.0.0.1:{port}"], scrape_interval="1s")
        assert "started" in line
        assert prometheus.status(dev)[0]
        eventually(dev, 'up{job="riskloop"}', lambda v: v == 1)
        eventually(dev, 'riskloop_events_in_total{source="inspections"}', lambda v: v == 3)
        metrics.events_in.labels(source="inspections").inc(5)
        eventually(dev, 'riskloop_events_in_total{source="inspections"}', lambda v: v == 8)
        assert prometheus.scalar(dev, "riskloop_worker_ready") == 1

        # start on a running one reloads it with the new targets; a dead target shows as up 0
        again = prometheus.start(dev, [f"127.0.0.1:{port}", "127.0.0.1:1"], scrape_interval="1s")
        assert "reloaded" in again
        eventually(dev, 'up{instance="127.0.0.1:1"}', lambda v: v == 0)
        assert prometheus.scalar(dev, 'riskloop_events_in_total{source="inspections"}') == 8

        groups = prometheus.api(dev, "rules")["groups"]
        (system,) = [g for g in groups if g["name"] == "riskloop-system"]
        assert len(system["rules"]) >= 5
        assert {r["health"] for r in system["rules"]} <= {"ok", "unknown"}
    finally:
        print(prometheus.stop(dev))
        server.shutdown()
    assert not prometheus.status(dev)[0]


def worker_metrics(port: int) -> bytes | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as rsp:
            return rsp.read() if rsp.status == 200 else None
    except (OSError, urllib.error.URLError):
        return None


def wait_for_worker_metrics(
    s: Settings, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60
) -> bytes:
    """The worker's first /metrics page; fail at once with its log if it exits instead."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = worker_metrics(s.web_port)
        if body is not None and b"riskloop_" in body:
            return body
        if proc.poll() is not None:
            pytest.fail(f"the worker exited with {proc.returncode}:\n{_tail(log)}")
        time.sleep(0.5)
    pytest.fail(
        f"the worker serves no riskloop_* metrics at http://127.0.0.1:{s.web_port}/metrics "
        f"after {timeout:.0f} s; its log ends:\n{_tail(log)}"
    )


def _tail(log: Path, lines: int = 15) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def test_worker_metrics_move_as_events_flow(
    live_settings: Settings, worker: Callable[[], subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    s = live_settings
    proc = worker()
    wait_for_worker_metrics(s, proc, tmp_path / "worker-0.log")
    dev = prom_dev(tmp_path / "prom")
    try:
        prometheus.start(dev, [f"127.0.0.1:{s.web_port}"], scrape_interval="1s")
        eventually(dev, 'up{job="riskloop"}', lambda v: v == 1)
        first = prometheus.scalar(dev, "sum(riskloop_events_in_total)") or 0.0
        # the worker's consumer group is new and starts at the earliest offset, so it counts
        # every record already in the topics plus ours: that sum is a firm lower bound
        history = _records_in_topics(s)
        sample = generate(40, seed=11)
        per_source = Counter(e.source for e in sample)
        _produce(s, sample)

        for source, n in sorted(per_source.items()):
            expr = f'sum(riskloop_events_in_total{{source="{source}"}})'
            want = history[source] + n
            eventually(dev, expr, partial(operator.le, want), timeout=45)
        total = prometheus.scalar(dev, "sum(riskloop_events_in_total)")
        assert total is not None
        assert total > first
        assert proc.poll() is None, "the worker died"
    finally:
        print(prometheus.stop(dev))


def _records_in_topics(s: Settings) -> dict[str, int]:
    """Source name → records currently held by its topic (high minus low watermarks)."""
    consumer = Consumer(
        {"bootstrap.servers": s.bootstrap_servers, "group.id": "watermarks", "log_level": 0}
    )
    try:
        meta = consumer.list_topics(timeout=10)
        out = {}
        for source, topic in s.topics.sources().items():
            marks = [
                consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                for p in meta.topics[topic].partitions
            ]
            out[source] = sum(high - low for low, high in marks)
        return out
    finally:
        consumer.close()


def _produce(s: Settings, sample: list[GeneratedEvent]) -> None:
    topics = s.topics.sources()
    producer = make_producer(s)
    for e in sample:
        producer.produce(
            topics[e.source],
            key=e.key.encode(),
            value=json.dumps(e.event, ensure_ascii=False).encode(),
        )
    assert producer.flush(30) == 0
