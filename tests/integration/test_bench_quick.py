"""`riskloop bench --quick` end to end against the real local broker: it works, and every
section of its JSON carries positive numbers. Speed is measured, never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _numbers(section: object) -> list[float]:
    if isinstance(section, dict):
        return [n for v in section.values() for n in _numbers(v)]
    if isinstance(section, bool):
        return []
    return [float(section)] if isinstance(section, int | float) else []


def test_bench_quick_writes_a_complete_report(broker: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "streams", "bench", "--quick", "--out", str(out)],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    [path] = list(out.glob("bench-*.json"))
    report = json.loads(path.read_text(encoding="utf-8"))
    for name in ("raw", "faust", "pipeline"):
        m = report["throughput"][name]
        for key in ("events_per_second", "cpu_us_per_event", "peak_rss_mib"):
            assert m[key] > 0, (name, key)
    for section in ("ratios", "latency", "micro"):
        values = _numbers(report[section])
        assert values and all(v > 0 for v in values), section
    assert report["machine"]["cores"] >= 1
    assert list(out.glob("bench-*.png")) and list(out.glob("bench-*.md"))


def test_bench_with_no_broker_is_one_line(tmp_path: Path) -> None:
    env = {"RISKLOOP_KAFKA_BROKER": "kafka://127.0.0.1:1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "streams", "bench", "--quick", "--out", str(tmp_path)],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Kafka broker" in lines[0]
