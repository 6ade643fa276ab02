"""Report building: sections, ratios, latency summary, Markdown and chart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.harness import Latency, Measured, topic_overrides
from bench.report import SECTIONS, build_report, markdown, write_chart, write_json
from bench.stats import BenchError
from config.settings import TopicSettings


def _m(name: str, rate: float) -> Measured:
    return Measured(name, 1000, rate, 50.0, 40.0, 1.0, 2.0)


def _report(matched: list[float]) -> dict[str, object]:
    return build_report(
        run={"events": 1000, "seed": 7, "quick": True},
        machine={"cores": 2, "cpu_model": "test cpu", "ram_gib": 8.0},
        measured=[_m("raw", 10_000.0), _m("faust", 2_000.0), _m("pipeline", 500.0)],
        latency=Latency(250.0, 500, matched),
        micro={"decode_validate_us_per_event": 30.0, "geofence_lookup_us_10k_fences": 6.0},
    )


def test_report_has_every_section_and_pipeline_ratios() -> None:
    report = _report([10.0, 20.0, 30.0, 40.0])
    assert set(SECTIONS) <= set(report)
    assert report["ratios"] == {"pipeline_vs_passthrough": 0.25, "pipeline_vs_raw": 0.05}
    lat = report["latency"]
    assert isinstance(lat, dict)
    assert lat["p50_ms"] == 25.0 and lat["alerts_matched"] == 4


def test_report_without_matched_alerts_or_a_processor_is_an_error() -> None:
    with pytest.raises(BenchError, match="no alert matched"):
        _report([])
    with pytest.raises(BenchError, match="missing throughput"):
        build_report(run={}, machine={}, measured=[_m("raw", 1.0)],
                     latency=Latency(1.0, 1, [1.0]), micro={})  # fmt: skip


def test_outputs_are_written(tmp_path: Path) -> None:
    report = _report([5.0, 7.0])
    data = json.loads(write_json(report, tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["throughput"]["pipeline"]["events_per_second"] == 500.0
    assert write_chart(report, tmp_path / "r.png").stat().st_size > 1000
    md = markdown(report)
    assert md.startswith("| measure | result |") and "Faust pass-through" in md


def test_topic_overrides_cover_every_topic_name() -> None:
    over = topic_overrides("bench.x.")
    names = {k for k, f in TopicSettings.model_fields.items() if isinstance(f.default, str)}
    assert set(over) == names
    assert over["alerts"] == "bench.x.alerts"
