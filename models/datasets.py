"""Replay the developer datasets (/work/shared/data) as RiskLoop records with their labels.

Each loader yields ``(record, truth)`` in stream order; the evaluator never shows ``truth`` to
a model except through the loop (``learn_one`` of a labelled source, or ``learn_label`` after the
configured delay). Mappings onto the data standard are documented per loader, with the dataset
README's caveats respected (sort by time, no leaking columns).
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from config.settings import PROJECT_ROOT
from models.errors import ModelError

DEFAULT_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"
"""The shared datasets beside the checkout (``../shared/data``), as CI and developers have them."""
"""Where the shared developer datasets live in this checkout's environment (``--data-dir``)."""

SKAB_METRICS = (
    "accelerometer1_rms",
    "accelerometer2_rms",
    "current",
    "pressure",
    "temperature",
    "thermocouple",
    "voltage",
    "volume_flow_rate_rms",
)
_USCC = "91110000100000000X"  # placeholder USCC for benchmark rows (no entity in the data)


def _open(path: Path) -> Any:
    if not path.exists():
        raise ModelError(
            f"dataset file {path} not found; pass --data-dir to the shared data folder"
        )
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.rstrip("Z")).replace(tzinfo=UTC)


def skab_files(data_dir: Path = DEFAULT_DATA_DIR) -> list[Path]:
    """The labelled SKAB runs ``other-01`` … ``other-14``."""
    return sorted((data_dir / "equipment" / "skab").glob("other-*.csv"))


def skab(path: Path) -> Iterator[tuple[dict[str, Any], int]]:
    """One SKAB run as equipment readings of one unit (the file name is the unit's code).

    Each file is a separate run of the test bench, so each is its own equipment unit of type
    ``pressure_vessel`` (a pump loop); the ``anomaly`` column is the truth.
    """
    with _open(path) as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            record = {
                "event_id": f"{path.stem}-{i}",
                "event_time": _utc(row["datetime"]),
                "equipment_code": f"SKAB-{path.stem}",
                "equipment_type": "pressure_vessel",
                "uscc": _USCC,
                "metrics": {m: float(row[m]) for m in SKAB_METRICS},
            }
            yield record, int(row.get("anomaly") or 0)


def skab_rows(path: Path) -> list[dict[str, float]]:
    """Metric rows of a SKAB file (for the static baseline fitted on ``anomaly-free.csv``)."""
    with _open(path) as fh:
        return [{m: float(row[m]) for m in SKAB_METRICS} for row in csv.DictReader(fh)]


def nab_ambient(data_dir: Path = DEFAULT_DATA_DIR) -> Iterator[tuple[dict[str, Any], int]]:
    """NAB ambient temperature as one boiler's readings; truth 1 inside a labelled window."""
    base = data_dir / "equipment" / "nab" / "ambient_temperature_system_failure"
    with _open(base.with_suffix(".windows.json")) as fh:
        windows = [(_utc(w["start"]), _utc(w["end"])) for w in json.load(fh)["windows"]]
    with _open(base.with_suffix(".csv")) as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            t = _utc(row["timestamp"])
            record = {
                "event_id": f"nab-{i}",
                "event_time": t,
                "equipment_code": "NAB-ambient",
                "equipment_type": "boiler",
                "uscc": _USCC,
                "metrics": {"temperature": float(row["value"])},
            }
            yield record, int(any(a <= t <= b for a, b in windows))


def zh_messages(data_dir: Path = DEFAULT_DATA_DIR) -> Iterator[tuple[dict[str, Any], str]]:
    """Chinese government messages as web complaints, in time order; truth = category.

    The record carries the category (a labelled disposition), which only the model's
    ``learn_one`` reads; ``score_one`` never looks at it.
    """
    with _open(data_dir / "complaints" / "zh-gov-messages-dev.csv") as fh:
        rows = [(datetime.fromisoformat(r["created_at"].strip()), r) for r in csv.DictReader(fh)]
    rows.sort(key=lambda pair: (pair[0], int(pair[1]["message_id"])))
    for posted, row in rows:
        record = {
            "event_id": f"msg-{row['message_id']}",
            # China local time (no zone in the source) → UTC
            "event_time": posted.replace(tzinfo=UTC) - timedelta(hours=8),
            "channel": "web",
            "subject": row["subject"].strip(),
            "text": row["body"].strip(),
            "category": row["category"],
        }
        yield record, row["category"]


_RISK_TIER = {"Risk 1 (High)": 1, "Risk 2 (Medium)": 2, "Risk 3 (Low)": 3}


def chicago_train_ids(data_dir: Path = DEFAULT_DATA_DIR) -> set[str]:
    """Inspection ids of the Chicago model's train split (the pilot's evaluation population)."""
    with _open(data_dir / "inspections" / "chicago-food-inspections-train.csv") as fh:
        return {row["Inspection_ID"] for row in csv.DictReader(fh)}


def chicago(data_dir: Path = DEFAULT_DATA_DIR) -> Iterator[tuple[dict[str, Any], int]]:
    """All Chicago canvass inspections 2011-09 … 2014-08 in date order; truth = critical found.

    Only the row's identity, date, facility type and risk class go into the record, plus its
    outcome (result and violation counts), which the model reads in ``learn_one`` only. The
    file's ``past*`` columns are not used: the model keeps each licence's history itself, so
    nothing is computed from the future.
    """
    with _open(data_dir / "inspections" / "chicago-food-inspections-2011-2014.csv.gz") as fh:
        rows = list(csv.DictReader(fh))
    rows.sort(key=lambda r: (date.fromisoformat(r["Inspection_Date"]), int(r["Inspection_ID"])))
    outcomes = {"Pass": "pass", "Fail": "fail", "Pass w/ Conditions": "rectify"}
    for row in rows:
        critical = int(float(row["criticalCount"] or 0))
        record = {
            "event_id": row["Inspection_ID"],
            "event_time": _utc(row["Inspection_Date"] + "T12:00:00"),
            "uscc": f"CHI-{row['License']}",
            "entity_name": row["DBA_Name"],
            "region_code": "CHI",
            "outcome": outcomes[row["Results"]],
            "critical_count": critical,
            "serious_count": int(float(row["seriousCount"] or 0)),
            "minor_count": int(float(row["minorCount"] or 0)),
            "risk_tier": _RISK_TIER.get(row["Risk"]),
            "facility_type": row["Facility_Type_Clean"] or "Other",
        }
        yield record, int(critical > 0)
