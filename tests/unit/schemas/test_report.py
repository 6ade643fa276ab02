"""validate_file: per-line verdicts and counts by reason, for JSONL and mapped CSV."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from schemas.mapping import load_mapping
from schemas.report import validate_file

from .conftest import NOW, good

if TYPE_CHECKING:
    from pathlib import Path


def test_jsonl_report(tmp_path: Path) -> None:
    lines = [
        json.dumps(good("trucks")),
        "",
        json.dumps(good("trucks") | {"plate": "ABC"}),
        "{not json",
        json.dumps(good("trucks") | {"lat": 99.0}),
    ]
    path = tmp_path / "fixes.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = validate_file(path, "trucks", now=NOW)
    assert (report.total, report.passed, report.failed) == (4, 1, 3)
    assert dict(report.by_reason) == {"bad_plate": 1, "bad_json": 1, "bad_coordinates": 1}
    assert [(f.line, f.reason, f.field) for f in report.failures] == [
        (3, "bad_plate", "plate"),
        (4, "bad_json", ""),
        (5, "bad_coordinates", "lat"),
    ]
    assert not report.ok
    assert "1/4" in report.summary()


def test_failure_list_is_capped_but_counts_are_not(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text("{}\n" * 30)
    report = validate_file(path, "trucks", now=NOW, max_failures=5)
    assert report.by_reason["missing_field"] == 30
    assert len(report.failures) == 5
    assert report.truncated


def test_csv_through_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "bus.csv"
    path.write_text(
        "id,vehicle_id,trip_id,ts,lat,lon,bearing\n"
        "1,4716,1,2024-05-01T11:00:00Z,53.4,-2.9,10\n"
        "2,4716,1,2024-05-01T11:00:05Z,,-2.9,\n"
        "3,4716,1,2024-05-01T11:00:09Z,53.4,-2.9,999\n"
    )
    report = validate_file(path, "trucks", load_mapping("liverpool-bus"), now=NOW)
    assert report.passed == 1
    assert dict(report.by_reason) == {"missing_field": 1, "bad_value": 1}  # trucks need lat
    assert [f.line for f in report.failures] == [3, 4]
