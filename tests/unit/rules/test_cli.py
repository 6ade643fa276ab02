"""``riskloop rules validate|test|backtest`` through typer's CliRunner."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from typer.testing import CliRunner

from config.settings import PROJECT_ROOT
from streams.cli.rules import app
from tests.unit.rules.conftest import pack_yaml, rule

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

PACKS = str(PROJECT_ROOT / "rules" / "packs")
runner = CliRunner()


def test_validate_shipped_packs() -> None:
    result = runner.invoke(app, ["validate", PACKS])
    assert result.exit_code == 0, result.output
    assert "equipment" in result.output


def test_validate_bad_pack_one_line_per_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        pack_yaml(
            [
                rule(id="a.one", condition='event.critical_count > "x"'),
                rule(id="a.two", level="purple"),
            ]
        ),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    errors = [ln for ln in result.output.splitlines() if ln.startswith("error")]
    assert len(errors) == 1
    assert "rule a.two: level:" in errors[0]
    assert "Traceback" not in result.output
    bad.write_text(
        pack_yaml([rule(id="a.one", condition='event.critical_count > "x"')]), encoding="utf-8"
    )
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "rule a.one: condition: type error" in result.output


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["test", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "cannot read the file" in result.output


def test_test_command_passes_and_fails(tmp_path: Path) -> None:
    assert runner.invoke(app, ["test", PACKS]).exit_code == 0
    failing = rule(
        id="a.one",
        examples=[
            {"name": "wrong", "fire": True, "event": {"outcome": "pass"}},
            {"name": "quiet", "fire": False, "event": {"outcome": "pass"}},
        ],
    )
    path = tmp_path / "f.yaml"
    path.write_text(pack_yaml([failing]), encoding="utf-8")
    result = runner.invoke(app, ["test", str(path)])
    assert result.exit_code == 1
    assert "FAIL" in result.output
    assert "1 example(s) failed" in result.output


def test_backtest_prints_tables(tmp_path: Path, event: Callable[..., Any]) -> None:
    recording = tmp_path / "rec.jsonl"
    recording.write_text(
        "\n".join(
            json.dumps({"source": "truck_detections", "event": event("truck_detections", kind=k)})
            for k in ("suspected_dumping", "banned_hours", "fence_enter")
        ),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["backtest", f"{PACKS}/trucks.yaml", "--from", str(recording)])
    assert result.exit_code == 0, result.output
    assert "urban_management" in result.output
    assert "trucks.suspected_dumping" in result.output
