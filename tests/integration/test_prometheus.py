"""A real Prometheus (Debian's, started by infra/prometheus.py) scraping RiskLoop's metrics.

Two tiers: first our Metrics registry served by prometheus_client in this process — proves the
Prometheus plumbing, the shipped alert rules loading, and the series names; then a real
`riskloop worker` subprocess fed by confluent-kafka — proves the worker's /metrics moves as
events flow. Each Prometheus runs on a free port with its data under tmp_path, and is stopped
in a finally.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Producer
from prometheus_client import start_http_server

from bench.generator import generate
from config.settings import DevStackSettings, Settings
from infra import prometheus
from streams.metrics import Metrics
from tests.integration.conftest import free_port


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


def wait_for_worker_metrics(s: Settings, timeout: float = 60) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = worker_metrics(s.web_port)
        if body is not None and b"riskloop_" in body:
            return body
        time.sleep(0.5)
    pytest.fail(
        f"the worker serves no riskloop_* metrics at http://127.0.0.1:{s.web_port}/metrics "
        f"after {timeout:.0f} s (is streams.metrics wired to the worker's web server?)"
    )


def test_worker_metrics_move_as_events_flow(
    live_settings: Settings, worker, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    s = live_settings
    proc = worker()
    wait_for_worker_metrics(s)
    dev = prom_dev(tmp_path / "prom")
    try:
        prometheus.start(dev, [f"127.0.0.1:{s.web_port}"], scrape_interval="1s")
        eventually(dev, 'up{job="riskloop"}', lambda v: v == 1)
        # a fresh consumer group reads the topics' history first: wait until that settles
        before = _settled_counts(dev)

        sample = generate(40, seed=11)
        per_source = Counter(e.source for e in sample)
        _produce(s, sample)

        for source, n in per_source.items():
            expr = f'sum(riskloop_events_in_total{{source="{source}"}})'
            start = before.get(source, 0.0)
            eventually(dev, expr, lambda v, start=start, n=n: v >= start + n, timeout=45)
        assert proc.poll() is None, "the worker died"
    finally:
        print(prometheus.stop(dev))


def _settled_counts(
    dev: DevStackSettings, quiet: float = 3.0, timeout: float = 30
) -> dict[str, float]:
    """Per-source event counts once they stopped changing for ``quiet`` seconds."""
    last: dict[str, float] = {}
    since = time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = {
            r["metric"]["source"]: float(r["value"][1])
            for r in prometheus.query(dev, "sum by (source) (riskloop_events_in_total)")
        }
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
        time.sleep(0.5)
    return last


def _produce(s: Settings, sample: list) -> None:  # type: ignore[type-arg]
    topics = s.topics.sources()
    producer = Producer({
        "bootstrap.servers": s.bootstrap_servers, "partitioner": "murmur2_random",
        "linger.ms": 5, "log_level": 0,
    })  # fmt: skip
    for e in sample:
        producer.produce(
            topics[e.source],
            key=e.key.encode(),
            value=json.dumps(e.event, ensure_ascii=False).encode(),
        )
    assert producer.flush(30) == 0
