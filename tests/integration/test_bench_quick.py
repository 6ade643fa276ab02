"""`riskloop bench --quick` end to end against the real local broker: it works, its JSON carries
every section, and a run this tiny is flagged "too short to resolve" instead of printing a rate
or a ratio. Speed is measured, never asserted; the broker-side counting is checked against the
baselines, whose output per event is known (pass-through 1 message, 1 write + 1 send 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_bench_quick_writes_a_complete_report(broker: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "streams", "bench", "--quick", "--out", str(out)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    [path] = list(out.glob("bench-*.json"))
    report = json.loads(path.read_text(encoding="utf-8"))

    thr = report["throughput"]
    assert set(thr) == {"raw", "faust_pass", "faust_1w1s", "pipeline"}
    for name, p in thr.items():
        assert len(p["runs"]) == 1, name
        assert p["peak_rss_mib"]["median"] > 0, name
        # 300 events cannot resolve a rate: flagged, with the reason and a size that would
        assert not p["resolved"], name
        assert "needs ≥ ~" in p["too_short"], name
    assert not any(r["resolved"] for r in report["ratios"].values())
    assert "median" not in report["ratios"]["pipeline_vs_faust_pass"]

    # messages counted at the broker: the baselines' known shapes check the method
    assert thr["raw"]["messages_per_event"]["median"] == pytest.approx(1.0, abs=0.1)
    assert thr["faust_pass"]["messages_per_event"]["median"] == pytest.approx(1.0, abs=0.1)
    assert thr["faust_1w1s"]["messages_per_event"]["median"] == pytest.approx(2.0, abs=0.2)
    assert thr["faust_pass"]["bytes_ratio"]["median"] == pytest.approx(1.0, abs=0.1)

    pipe = report["pipeline"]
    assert pipe["messages_per_event"]["median"] > 1
    assert pipe["bytes_ratio"]["median"] > 1
    assert pipe["messages_per_event_by_topic"]
    assert pipe["first_commit_seconds"]["median"] >= 0
    assert pipe["first_commit_goal_seconds"] == report["run"]["commit_interval"] + 1
    assert pipe["max_uncommitted"]["max"] >= 1
    assert pipe["e2e_events_per_second"]["median"] > 0

    lat = report["latency"]
    assert lat["p50_ms"] > 0
    assert lat["p99_ms"] >= lat["p50_ms"]
    assert lat["offered_per_second"] <= lat["capacity_per_second"] * 0.6
    assert isinstance(lat["p99_resolved"], bool)

    m = report["machine"]
    assert m["cores"] >= 1
    assert len(m["load_average"]) == 3
    assert m["date_utc"]
    assert sum(report["stream"]["entities"].values()) > 0
    assert report["micro"]
    assert all(v > 0 for v in report["micro"].values())

    # the printed Markdown is the report: flagged figures, goals, machine facts
    assert "too short to resolve¹" in proc.stdout
    assert "¹ Too short to resolve" in proc.stdout
    assert "≤ 1.5" in proc.stdout
    assert "load average" in proc.stdout
    assert list(out.glob("bench-*.md"))
    assert not list(out.glob("bench-*.png"))


def test_bench_with_no_broker_is_one_line(tmp_path: Path) -> None:
    env = {"RISKLOOP_KAFKA_BROKER": "kafka://127.0.0.1:1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "streams", "bench", "--quick", "--out", str(tmp_path)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "cannot reach the Kafka broker" in lines[0]


def test_bench_with_redis_down_refuses_to_measure(broker: str, tmp_path: Path) -> None:
    # a worker would not fail against a down Redis, only retry: the bench must not time that
    env = {**os.environ, "RISKLOOP_REDIS_URL": "redis://127.0.0.1:1/0"}
    proc = subprocess.run(
        [sys.executable, "-m", "streams", "bench", "--quick", "--out", str(tmp_path)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "cannot reach Redis at 127.0.0.1:1/0" in lines[0]
    assert "--start-services" not in lines[0]  # not the dev stack's port: not ours to start
    assert not list(tmp_path.glob("bench-*"))
