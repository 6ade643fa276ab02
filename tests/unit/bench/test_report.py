"""Report building and rendering: spreads over runs, ratios from medians, the too-short flag
instead of a bare figure, goals next to the pipeline's volume, stall and latency, and a header
with the date and the machine."""

from __future__ import annotations

import doctest
import json
import re
from typing import TYPE_CHECKING, Any

import pytest

import bench.render
import bench.report
from bench.harness import Latency, Measured, Stall, Trial, topic_overrides
from bench.render import fmt_spread, markdown, write_chart
from bench.report import SECTIONS, build_report, write_json
from bench.stats import BenchError, Resolution
from bench.volume import Volume
from config.settings import TopicSettings

if TYPE_CHECKING:
    from pathlib import Path

RESOLVED = Resolution(9.0, 40, 3.0, 0)
SHORT = Resolution(0.02, 1, 3.0, 170_000)


def _trial(
    name: str,
    rate: float,
    r: int = 1,
    *,
    res: Resolution = RESOLVED,
    messages: int = 1000,
    e2e: float | None = None,
    stall: Stall | None = None,
) -> Trial:
    m = Measured(name, 1000, rate, 50.0, 40.0 + r, 1.0, 2.0, resolution=res)
    vol = Volume(1000, 100_000, messages, messages * 100, {"out": messages})
    return Trial(name, r, m, stall or Stall(2.0, 3.0, 400.0, True), vol, e2e_seconds=e2e)


def _trials(*, raw: Resolution = RESOLVED, pipe: list[float] | None = None) -> list[Trial]:
    out = []
    for r, p in enumerate(pipe or [500.0, 450.0, 520.0], start=1):
        out += [
            _trial("raw", 100_000.0, r, res=raw),
            _trial("faust_pass", 2_000.0 + r * 100, r),
            _trial("faust_1w1s", 1_000.0, r, messages=2000),
            _trial(
                "pipeline",
                p,
                r,
                messages=9_800,
                e2e=4.0,
                stall=Stall(2.0, 3.0 + r / 10, 300.0 + r, True),
            ),
        ]
    return out


def _report(
    matched: list[float], trials: list[Trial] | None = None, *, only_pipeline: bool = False
) -> dict[str, Any]:
    return build_report(
        run={
            "events": 1000,
            "seed": 7,
            "quick": False,
            "repeat": 3,
            "commit_interval": 1.0,
            "only_pipeline": only_pipeline,
        },
        machine={
            "cores": 2,
            "cpu_model": "test cpu",
            "ram_gib": 8.0,
            "date_utc": "2026-12-02 11:40 UTC",
            "load_average": [0.5, 0.25, 0.125],
            "kernel": "6.1",
            "python": "3.11.7",
        },
        stream={"events": 1000, "bytes": 100_000, "entities": {"enterprises": 60}},
        trials=trials if trials is not None else _trials(),
        latency=Latency(125.0, 500, matched, capacity_per_second=250.0),
        micro={"decode_validate_us_per_event": 30.0, "geofence_lookup_us_10k_fences": 6.0},
    )


def test_every_processor_has_its_runs_and_their_spread() -> None:
    report = _report([10.0, 20.0, 30.0, 40.0])
    assert set(SECTIONS) <= set(report)
    pipe = report["throughput"]["pipeline"]
    assert len(pipe["runs"]) == 3
    assert pipe["resolved"]
    assert pipe["events_per_second"] == {"min": 450.0, "median": 500.0, "max": 520.0, "n": 3}
    assert pipe["peak_rss_mib"]["min"] == 41.0
    assert pipe["peak_rss_mib"]["max"] == 43.0
    assert report["throughput"]["faust_1w1s"]["messages_per_event"]["median"] == 2.0


def test_ratios_come_from_medians_with_the_spread_of_the_runs() -> None:
    r = _report([1.0])["ratios"]["pipeline_vs_faust_pass"]
    assert r["resolved"]
    assert r["median"] == pytest.approx(500.0 / 2200.0)
    assert r["min"] == pytest.approx(450.0 / 2300.0)
    assert r["max"] == pytest.approx(520.0 / 2100.0)


def test_a_too_short_processor_gets_no_ratio_and_says_why() -> None:
    report = _report([1.0], _trials(raw=SHORT))
    raw = report["throughput"]["raw"]
    assert not raw["resolved"]
    assert "needs ≥ ~170,000 events" in raw["too_short"]
    assert report["ratios"]["pipeline_vs_raw"] == {
        "resolved": False,
        "too_short": "raw confluent-kafka loop",
    }
    md = markdown(report)
    raw_row = next(line for line in md.splitlines() if line.startswith("| raw confluent"))
    assert "too short to resolve¹" in raw_row
    assert "100,000" not in raw_row
    ratio_row = next(line for line in md.splitlines() if "pipeline / raw" in line)
    assert "too short to resolve" in ratio_row
    assert not re.search(r"\| 0\.0\d+", ratio_row)  # no bare number
    assert "¹ Too short to resolve" in md
    assert "window 0.02 s" in md


def test_one_short_run_of_three_marks_the_processor() -> None:
    trials = _trials()
    trials[3] = _trial("pipeline", 5_000.0, 1, res=SHORT, e2e=4.0)
    report = _report([1.0], trials)
    assert not report["throughput"]["pipeline"]["resolved"]
    assert not any(r["resolved"] for r in report["ratios"].values())


def test_a_run_short_by_its_commit_steps_gives_its_own_reason() -> None:
    few_steps = Resolution(12.0, 7, 3.0, 29_000)  # a long window, 7 commit steps < 10
    trials = _trials()
    trials[1] = _trial("faust_pass", 2_100.0, 1, res=Resolution(4.0, 40, 3.0, 0))
    trials[5] = _trial("faust_pass", 2_200.0, 2, res=few_steps)
    entry = _report([1.0], trials)["throughput"]["faust_pass"]
    assert entry["too_short"] == (
        "1 of 3 runs, shortest 7 commit steps < 10; needs ≥ ~29,000 events"
    )


def test_pipeline_volume_stall_and_capacity_sit_next_to_their_goals() -> None:
    report = _report([1.0])
    pipe = report["pipeline"]
    assert pipe["messages_per_event"]["median"] == pytest.approx(9.8)
    assert pipe["bytes_ratio"]["median"] == pytest.approx(9.8)
    assert pipe["first_commit_seconds"]["median"] == pytest.approx(1.2)
    assert pipe["first_commit_goal_seconds"] == 2.0
    assert pipe["max_uncommitted"]["max"] == 303.0
    assert pipe["e2e_events_per_second"]["median"] == 250.0
    assert pipe["e2e_vs_pipeline"]["median"] == pytest.approx(0.5)  # 250 against 500 ev/s
    md = markdown(report)
    assert "| pipeline: messages produced per input event | 9.80 | ≤ 1.5 ✗ |" in md
    assert "| pipeline: bytes produced per byte read | 9.80× | ≤ 5× ✗ |" in md
    stall = next(line for line in md.splitlines() if "first commit" in line)
    assert "1.2 s (1.1–1.3)" in stall
    assert "≤ 2 s (commit interval + 1 s) ✓" in stall
    capacity = next(line for line in md.splitlines() if "end-to-end capacity (" in line)
    assert "0.50× (0.48–0.56) its ingest rate | ≥ 0.9× its ingest rate ✗ |" in capacity
    floor = next(line for line in md.splitlines() if "pipeline / Faust pass-through" in line)
    assert floor.endswith("| ≥ 0.35 (floor; aim 0.5) ✗ |")  # 500 / 2,200 ev/s


def test_a_pipeline_that_keeps_up_meets_the_capacity_goal() -> None:
    trials = [
        _trial(t.name, t.measured.events_per_second, t.round, e2e=2.1)
        if t.name == "pipeline"
        else t
        for t in _trials()
    ]
    capacity = next(
        line
        for line in markdown(_report([1.0], trials)).splitlines()
        if "end-to-end capacity (" in line
    )
    assert "≥ 0.9× its ingest rate ✓" in capacity  # 1,000 / 2.1 s = 476 ev/s against 450–520


def test_latency_is_p50_and_p99_and_a_thin_tail_is_unresolved() -> None:
    md = markdown(_report([float(v) for v in range(1, 201)]))
    row = next(line for line in md.splitlines() if "latency" in line)
    assert "at 125 ev/s (half the end-to-end capacity)" in row
    assert "p50 100 ms" in row
    assert "p99 198 ms" in row
    assert "< 1,000 ms (aim 250) ✓" in row
    thin = markdown(_report([300.0] * 20))
    row = next(line for line in thin.splitlines() if "latency" in line)
    assert "unresolved: 20 alerts < 100" in row
    assert "✗" not in row


def test_header_has_date_machine_and_load() -> None:
    md = markdown(_report([1.0]))
    first = md.splitlines()[0]
    assert "2026-12-02 11:40 UTC" in first
    assert "3 runs per processor" in first
    assert "2 cores · test cpu · 8.0 GiB RAM" in md
    assert "load average (1/5/15 min) 0.50 / 0.25 / 0.12 before the run" in md


def test_report_without_matched_alerts_or_a_processor_is_an_error() -> None:
    with pytest.raises(BenchError, match="no alert matched"):
        _report([])
    with pytest.raises(BenchError, match="missing throughput"):
        _report([1.0], [_trial("raw", 1.0)])


def test_a_pipeline_only_run_reports_the_pipeline_without_ratios() -> None:
    pipes = [t for t in _trials() if t.name == "pipeline"]
    with pytest.raises(BenchError, match="missing throughput"):
        _report([1.0], pipes)  # a full run needs its baselines
    report = _report([1.0, 2.0], pipes, only_pipeline=True)
    assert set(report["throughput"]) == {"pipeline"}
    assert report["ratios"] == {}
    text = markdown(report)
    assert "RiskLoop pipeline" in text
    assert "Faust pass-through" not in text
    assert "peak RSS" in text


def test_spread_formatting() -> None:
    assert fmt_spread(None) == "—"
    assert fmt_spread({"min": 0.15, "median": 0.171, "max": 0.19, "n": 3}, "{:.3f}") == (
        "0.171 (0.150–0.190)"
    )
    assert fmt_spread({"min": 5.0, "median": 5.0, "max": 5.0, "n": 3}, "{:.1f}", " s") == "5.0 s"


def test_outputs_are_written(tmp_path: Path) -> None:
    report = _report([5.0, 7.0], _trials(raw=SHORT))
    data = json.loads(write_json(report, tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["throughput"]["pipeline"]["events_per_second"]["median"] == 500.0
    assert data["throughput"]["raw"]["runs"][0]["too_short"].startswith("window 0.02 s")
    assert write_chart(report, tmp_path / "r.png").stat().st_size > 1000


def test_topic_overrides_cover_every_topic_name() -> None:
    over = topic_overrides("bench.x.")
    names = {k for k, f in TopicSettings.model_fields.items() if isinstance(f.default, str)}
    assert set(over) == names
    assert over["alerts"] == "bench.x.alerts"


def test_report_and_render_doctests() -> None:
    assert doctest.testmod(bench.report).failed == 0
    assert doctest.testmod(bench.render).failed == 0
