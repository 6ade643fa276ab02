"""Replay mappings: the engine, and every shipped mapping on the first 200 rows of its real file."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from config.settings import DATASETS_DIR
from schemas.errors import ConfigError, ValidationFailed
from schemas.ingest import IngestLimits, decode_source
from schemas.mapping import (
    MappedRow,
    Mapping,
    MappingError,
    iter_mapped,
    load_mapping,
    shipped_mappings,
)
from schemas.reasons import REASONS
from schemas.validation.uscc import is_valid_uscc

# the datasets folder is the `datasets_dir` setting (RISKLOOP_DATA_DIR is the worker's own files)
DATA = Path(os.environ.get("RISKLOOP_DATASETS_DIR", str(DATASETS_DIR)))
MAPPINGS = shipped_mappings()
ROWS = 200


def _files(m: Mapping) -> list[Path]:
    assert m.file
    files = sorted(DATA.glob(m.file))
    if not files:
        pytest.skip(f"dataset {m.file} not present under {DATA}")
    return files[:2]


def test_all_datasets_have_a_mapping() -> None:
    assert set(MAPPINGS) >= {
        "chicago-food-inspections",
        "chicago-sanitation-311",
        "zh-gov-messages",
        "skab",
        "nab-ambient-temperature",
        "geolife",
        "liverpool-bus",
    }
    for m in MAPPINGS.values():
        assert set(m.known_failures) <= set(REASONS)


@pytest.mark.parametrize("name", sorted(MAPPINGS))
def test_real_rows_map_and_pass_the_door(name: str) -> None:
    m = MAPPINGS[name]
    results = [item for f in _files(m) for item in iter_mapped(m, f, limit=ROWS)]
    errors = [r for r in results if isinstance(r, MappingError)]
    assert not errors, errors[:3]
    rows = [r for r in results if isinstance(r, MappedRow)]
    assert len(rows) >= ROWS
    now = max(datetime.fromisoformat(r.record["event_time"]) for r in rows) + timedelta(days=1)
    failures: dict[str, int] = {}
    for row in rows:
        try:
            record = decode_source(
                m.source, json.dumps(row.record).encode(), limits=IngestLimits(), now=now
            )
        except ValidationFailed as exc:
            failures[exc.reason] = failures.get(exc.reason, 0) + 1
            unexpected = exc.reason not in m.known_failures
            if unexpected:
                pytest.fail(f"{name} line {row.line}: {exc}")
            continue
        assert record.event_id == row.record["event_id"]
    assert sum(failures.values()) < len(rows) / 2  # a documented exception, not the rule


def test_chicago_inspection_identity_is_chinese_style() -> None:
    m = MAPPINGS["chicago-food-inspections"]
    first = next(r for r in iter_mapped(m, _files(m)[0], limit=1) if isinstance(r, MappedRow))
    rec = first.record
    assert is_valid_uscc(rec["uscc"])
    assert rec["uscc"][2:8] == "330100"
    assert rec["outcome"] in {"pass", "fail", "rectify"}
    assert rec["event_time"].endswith("+00:00")


def test_skab_metrics_and_one_equipment_per_file() -> None:
    m = MAPPINGS["skab"]
    files = _files(m)
    codes = set()
    for f in files:
        rows = [r for r in iter_mapped(m, f, limit=3) if isinstance(r, MappedRow)]
        codes |= {r.record["equipment_code"] for r in rows}
        assert len({r.record["equipment_code"] for r in rows}) == 1
        assert set(rows[0].record["metrics"]) == set(rows[0].record["units"])
    assert len(codes) == len(files)


def test_missing_column_names_the_column(tmp_path: Path) -> None:
    path = tmp_path / "bus.csv"
    path.write_text("id;vehicle_id;ts;lat;lon\n1;4716;2026-01-26T15:57:02Z;53.4;-2.9\n")
    m = MAPPINGS["liverpool-bus"]
    (err,) = list(iter_mapped(m, path))
    assert isinstance(err, MappingError)
    assert err.line == 1
    assert "delimiter" in err.message
    semicolon = m.model_copy(
        update={"delimiter": ";", "fields": {k: v for k, v in m.fields.items() if k != "heading"}}
    )
    (row,) = list(iter_mapped(semicolon, path))
    assert isinstance(row, MappedRow)
    assert row.record["plate"] == "浙A04716"


def test_bad_rows_are_yielded_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bus.csv"
    path.write_text(
        "id,vehicle_id,ts,lat,lon,bearing\n"
        "1,4716,2026-01-26T15:57:02Z,53.4,-2.9,\n"
        "2,4716,2026-01-26T15:57:03Z,north,-2.9,\n"
        '"3\nmultiline",4716,not a time,53.4,-2.9,\n'
        "4,4716,2026-01-26T15:57:05Z,53.4,-2.9,7\n"
    )
    items = list(iter_mapped(MAPPINGS["liverpool-bus"], path))
    assert [type(i).__name__ for i in items] == [
        "MappedRow",
        "MappingError",
        "MappingError",
        "MappedRow",
    ]
    assert (items[1].line, items[1].column) == (3, "lat")
    assert (items[2].line, items[2].column) == (4, "ts")
    assert items[3].line == 6
    assert items[3].record["heading"] == 7.0


def test_map_function_and_sort(tmp_path: Path) -> None:
    path = tmp_path / "insp.csv"
    path.write_text("d,r\n2024-01-02,Fail\n2024-01-01,Pass w/ Conditions\n2024-01-03,Unknown\n")
    m = Mapping.model_validate(
        {
            "name": "t",
            "source": "inspections",
            "format": "csv",
            "sort_by": "d",
            "event_time": {"column": "d", "zone": "UTC"},
            "fields": {
                "outcome": {
                    "column": "r",
                    "fn": "map",
                    "values": {"Pass": "pass", "Fail": "fail", "Pass w/ Conditions": "rectify"},
                },
                "flag": {
                    "column": "r",
                    "fn": "bool_from",
                    "true": ["Fail"],
                    "false": ["Pass w/ Conditions", "Unknown"],
                },
                "twice": {"const": "2", "fn": "multiply", "factor": 2.5},
            },
        }
    )
    items = list(iter_mapped(m, path, sort=True))
    assert [i.record["outcome"] for i in items if isinstance(i, MappedRow)] == ["rectify", "fail"]
    assert isinstance(items[2], MappingError)
    assert items[2].column == "r"
    assert items[1].record["flag"] is True
    assert items[0].record["twice"] == 5.0


@pytest.mark.parametrize(
    "field",
    [
        {},
        {"column": "a", "const": 1},
        {"column": "a", "fn": "eval"},
        {"column": "a", "fn": "uscc_from"},
        {"column": "a", "fn": "uscc_from", "region": "999999"},
        {"column": "a", "fn": "multiply"},
    ],
)
def test_invalid_field_specs_are_refused(field: dict) -> None:
    with pytest.raises(ValidationError):
        Mapping.model_validate(
            {
                "name": "t",
                "source": "trucks",
                "format": "csv",
                "event_time": {"column": "t"},
                "fields": {"x": field},
            }
        )


def test_load_mapping_errors_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_mapping(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsource: nowhere\n")
    with pytest.raises(ConfigError):
        load_mapping(bad)
