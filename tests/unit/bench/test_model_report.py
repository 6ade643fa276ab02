"""The models' figures table (bench/model_report.py): goals checked by code, markers respected."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from bench import model_report
from models.errors import ModelError

if TYPE_CHECKING:
    from pathlib import Path


def _figures(**over: Any) -> model_report.Figures:
    skab = {"runs": 7.0, "f1": 0.8, "false_alarm_rate": 0.215, "missed_alarm_rate": 0.2}
    skab |= {"windows": 7.0, "windows_detected": 6.0}
    skab |= {
        "f1_after_400": 0.8,
        "false_alarm_rate_after_400": 0.2,
        "missed_alarm_rate_after_400": 0.2,
    }
    nab = {"detector": "equipment-anomaly · ambient", "false_alarm_rate": 0.02}
    nab |= {"windows": 2.0, "windows_detected": 2.0, "false_alarm_episodes": 10.0}
    nab |= {"mean_delay_h": 98.0}
    base = {"f1": 0.797, "false_alarm_rate": 0.366, "missed_alarm_rate": 0.116}
    normal = {"runs": 8.0, "false_alarm_rate": 0.12, "false_alarm_rate_after_400": 0.182}
    rows: dict[str, Any] = {
        "skab": [skab, {**base, **{f"{k}_after_400": v for k, v in base.items()}}],
        "skab_normal": [normal, {"false_alarm_rate": 0.44, "false_alarm_rate_after_400": 0.66}],
        "nab": [nab],
        "zh": [{"events": 119.0, "learnt_first": 178.0, "macro_f1": 0.8515}, {"macro_f1": 0.69}],
        "chicago": [{"evaluated": 5207.0, "top_half_share": 0.766}, {"top_half_share": 0.5}],
    }
    for key, value in over.items():
        rows[key][0] |= value
    return model_report.Figures(**rows)


def _line(table: str, start: str) -> str:
    return next(line for line in table.splitlines() if line.startswith(start))


def test_each_goal_is_checked_against_the_figure_not_typed_in() -> None:
    table = model_report.render(_figures())
    assert _line(table, "| SKAB, 7 runs").endswith("not met |")
    assert "**0.800 · 21.5% · 20.0%** · 6 / 7" in table
    assert "| FAR | 12.0% · 18.2% |" in table
    assert _line(table, "| NAB `ambient`").endswith("not met |")  # 10 episodes
    assert _line(table, "| Government").endswith("**met** |")
    assert _line(table, "| Chicago inspections, 5,207").endswith("**met** |")
    better = model_report.render(
        _figures(
            skab={"f1": 0.83, "false_alarm_rate": 0.09, "missed_alarm_rate": 0.2},
            nab={"false_alarm_episodes": 2.0},
            zh={"macro_f1": 0.849},
        )
    )
    assert _line(better, "| SKAB, 7 runs").endswith("**met** |")
    assert _line(better, "| NAB `ambient`").endswith("**met** |")
    assert _line(better, "| Government").endswith("not met |")


def test_a_missed_nab_window_fails_the_goal_whatever_the_episodes() -> None:
    table = model_report.render(
        _figures(nab={"windows_detected": 1.0, "false_alarm_episodes": 0.0})
    )
    assert _line(table, "| NAB `ambient`").endswith("not met |")


def test_the_table_goes_between_the_markers_and_nothing_else_moves(tmp_path: Path) -> None:
    doc = tmp_path / "README.md"
    doc.write_text(f"before\n{model_report.START}\nold table\n{model_report.END}\nafter\n")
    table = model_report.render(_figures())
    assert model_report.stale(doc, table)
    model_report.write(doc, table)
    text = doc.read_text()
    assert text.startswith(f"before\n{model_report.START}\n| dataset")
    assert text.endswith(f"{model_report.END}\nafter\n")
    assert "old table" not in text
    assert not model_report.stale(doc, table)
    assert model_report.stale(doc, model_report.render(_figures(zh={"macro_f1": 0.86})))


def test_a_file_without_the_markers_is_refused_by_name(tmp_path: Path) -> None:
    doc = tmp_path / "notes.md"
    doc.write_text("no markers here\n")
    with pytest.raises(ModelError, match="notes.md has no"):
        model_report.write(doc, "| table |\n")
    assert doc.read_text() == "no markers here\n"


def test_a_dataset_the_folder_does_not_hold_is_said_not_measured() -> None:
    figures = _figures()
    partial = model_report.Figures(figures.skab, None, None, figures.zh, None)
    table = model_report.render(partial)
    assert _line(table, "| NAB |") == "| NAB | – | no file of its layout in the folder | – | – |"
    assert _line(table, "| Chicago |").endswith("| – | – |")
    assert "SKAB normal runs" not in table  # no unlabelled recording: no line for it
    assert _line(table, "| SKAB, 7 runs").endswith("not met |")
    assert _line(table, "| Government").endswith("**met** |")


def test_a_folder_with_one_dataset_is_measured_for_that_one(tmp_path: Path) -> None:
    """``riskloop models report --data-dir`` on unseen data of one kind: that kind only."""
    from tests.unit.models.test_protocol import messages

    messages(tmp_path / "data" / "complaints" / "msgs.csv")
    figures = model_report.measure(tmp_path / "data", tmp_path / "work")
    assert figures.skab is figures.nab is figures.chicago is None
    assert figures.zh is not None
    assert figures.zh[0]["events"] == 16  # the reporting part of 40 messages
    assert "| SKAB | – | no file" in model_report.render(figures)
