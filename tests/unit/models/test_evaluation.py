"""Evaluation: metrics, label delay, and small real-data runs (a slice of SKAB, the messages)."""

from __future__ import annotations

import math

from typer.testing import CliRunner

from bench import evaluations
from models.evaluation import binary_metrics, detection_delays, prequential, top_half_share
from models.factories import create
from streams.cli import app  # the root: `models evaluate` is bench's plug-in

from .conftest import stream


def test_binary_metrics():
    m = binary_metrics([True, True, False, False], [1, 0, 1, 0])
    assert m["precision"] == m["recall"] == m["f1"] == 0.5
    assert m["false_alarm_rate"] == m["missed_alarm_rate"] == 0.5
    assert m["alerts_per_1000"] == 500


def test_detection_delay_and_top_half():
    d = detection_delays([False, False, True, False, False], [0, 1, 1, 1, 1])
    assert d["windows_detected"] == 1
    assert d["mean_delay"] == 1
    assert math.isnan(detection_delays([False], [1])["mean_delay"])
    assert top_half_share([0.9, 0.1, 0.8, 0.2], [1, 0, 1, 0]) == 1.0


def test_label_delay_holds_labels_back():
    events = [(e, e["category"]) for e in stream("complaints", 40)]
    model = create("complaint-classifier", {"min_labels": 1})
    trace = prequential(model, events, label_delay=10)
    assert trace.predicted[:10] == [None] * 10
    assert trace.predicted[11] is not None


def test_skab_slice_beats_static_three_sigma():
    rows, trace = evaluations.skab(files=3)
    ours, baseline = rows
    assert ours["f1"] > baseline["f1"]
    assert ours["false_alarm_rate"] < baseline["false_alarm_rate"]
    assert len(trace.scores) > 2000


def test_cli_list_and_evaluate(tmp_path):
    runner = CliRunner()
    listing = runner.invoke(app, ["models", "list"])
    assert listing.exit_code == 0
    assert "equipment-anomaly" in listing.output
    png = tmp_path / "zh.png"
    result = runner.invoke(
        app,
        [
            "models",
            "evaluate",
            "zh-messages",
            "--params",
            '{"tokens": "char2"}',
            "--plot",
            str(png),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert '"macro_f1"' in result.output
    assert png.stat().st_size > 1000
    bad = runner.invoke(app, ["models", "evaluate", "nope"])
    assert bad.exit_code == 1
