"""`riskloop routes test`: where a warning's task goes, and a check of the shipped rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from streams.cli import app, main

if TYPE_CHECKING:
    from pathlib import Path


def test_labels_print_the_department_and_the_matching_route() -> None:
    labels = ["source=inspections", "item_code=YJ-ZFJC-001", "region_code=330106"]
    result = CliRunner().invoke(app, ["routes", "test", *labels])
    assert result.exit_code == 0, result.output
    first, matched, *returns = result.output.splitlines()
    assert first == "hz_market_food"
    assert "source=inspections item_code=YJ-ZFJC-* region=330100" in matched
    assert "zj_risk_centre_intake" in returns[0]
    assert "the intake" in returns[0]


def test_truck_detections_reach_urban_management() -> None:
    labels = ["source=truck_detections", "item_code=YJ-ZTC-005", "region_code=330106"]
    result = CliRunner().invoke(app, ["routes", "test", *labels])
    assert result.output.splitlines()[0] == "hz_urban_management"


def test_without_labels_every_shipped_rule_is_routed() -> None:
    result = CliRunner().invoke(app, ["routes", "test"])
    assert result.exit_code == 0, result.output
    assert "trucks/trucks.suspected_dumping" in result.output
    assert "zj_risk_centre_intake" not in result.output
    assert "each reaches a department" in result.output


def test_rules_reaching_the_intake_fail_the_check(tmp_path: Path) -> None:
    table = tmp_path / "routing.yaml"
    table.write_text(
        'routes:\n  - {source: "*", item_code: "*", region: "330000", departments: [intake]}\n'
        '  - {source: complaints, item_code: "*", region: "330100", departments: [hz_market]}\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["routes", "test", "--table", str(table)])
    assert result.exit_code == 1
    assert "not routed: inspections/inspections.critical_failure" in result.output
    assert "not routed: complaints/" not in result.output


@pytest.mark.parametrize(
    "argv",
    [
        ["routes", "test", "source=truck"],
        ["routes", "test", "region_code=330106"],
        ["routes", "test", "--region", "33"],
        ["routes", "test", "--table", "/nonexistent/routing.yaml"],
    ],
)
def test_bad_input_is_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("riskloop: error: ")
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
