"""Read the developer datasets (``datasets_dir``, ../shared/data) as RiskLoop records with labels.

Each loader yields ``(record, truth)`` in stream order; the evaluator never shows ``truth`` to
a model except through the loop (``learn_one`` of a labelled source, or ``learn_label`` after the
configured delay). Mappings onto the data standard are documented per loader, with the dataset
README's caveats respected (sort by time, no leaking columns). Reading files is the tools' work,
so this lives in ``bench/``: the worker never reads a dataset, and ``models/`` stays pure.
"""

from __future__ import annotations

import csv
import gzip
import json
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from config.settings import DATASETS_DIR
from models.errors import ModelError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

DEFAULT_DATA_DIR = DATASETS_DIR
"""The loaders' default folder: the setting's default (the CLI passes ``datasets_dir``)."""

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


SOURCE_COLUMNS = {
    "Accelerometer1RMS": "accelerometer1_rms",
    "Accelerometer2RMS": "accelerometer2_rms",
    "Current": "current",
    "Pressure": "pressure",
    "Temperature": "temperature",
    "Thermocouple": "thermocouple",
    "Voltage": "voltage",
    "Volume Flow RateRMS": "volume_flow_rate_rms",
}
"""SKAB's own column names (its ``data/*/*.csv``, ``;``-separated) → the layout's: a run copied
straight from SKAB is read like the shared data's converted copies."""


def _columns(fh: Any) -> tuple[str, list[str]]:
    """The delimiter (``,`` or SKAB's ``;``) and the layout's names of a file's columns; the
    file is left at its start."""
    first = fh.readline()
    fh.seek(0)
    delimiter = ";" if first.count(";") > first.count(",") else ","
    names = next(csv.reader([first], delimiter=delimiter), [])
    return delimiter, [SOURCE_COLUMNS.get(n.strip(), n.strip()) for n in names]


@contextmanager
def _reading(path: Path) -> Iterator[csv.DictReader[str]]:
    """A CSV reader whose bad values become one clear error naming the file and line."""
    with _open(path) as fh:
        delimiter, names = _columns(fh)
        reader = csv.DictReader(fh, delimiter=delimiter)
        if reader.fieldnames is not None:  # reads the header line; then the layout's names
            reader.fieldnames = names
        try:
            yield reader
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelError(
                f"{path}, line {reader.line_num}: {type(exc).__name__}: {exc}"
            ) from None


def _local(text: str) -> datetime:
    """``2019/1/8 9:05:00`` (the source's form) or ISO, as a naive datetime."""
    text = text.strip()
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return datetime.strptime(text, "%Y/%m/%d %H:%M:%S")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.rstrip("Z")).replace(tzinfo=UTC)


def _header(path: Path) -> set[str]:
    """Column names of a CSV (plain or gzip), to recognise a file by what it holds."""
    with _open(path) as fh:
        return set(_columns(fh)[1])


def _csvs(folder: Path) -> list[Path]:
    """Every CSV under ``folder``, subfolders included (SKAB's own ``valve1/``, ``other/``)."""
    return sorted([*folder.rglob("*.csv"), *folder.rglob("*.csv.gz")])


def run_name(path: Path, folder: str) -> str:
    """A file's name below its dataset folder, subfolders joined by ``-``: ``valve1/0.csv`` →
    ``valve1-0``, so two runs named alike in two subfolders stay two units.

    >>> from pathlib import Path
    >>> run_name(Path("d/equipment/skab/valve1/0.csv"), "skab"), run_name(Path("d/x/skab/o.csv"), "skab")
    ('valve1-0', 'o')
    """
    parts = path.parts
    below = parts[len(parts) - parts[::-1].index(folder) :] if folder in parts else parts[-1:]
    return "-".join([*below[:-1], path.stem])


def find(data_dir: Path, folder: str, columns: set[str]) -> list[Path]:
    """Every CSV in ``data_dir/folder`` whose header has all of ``columns`` (the layout rule).

    Files are recognised by what they hold, not by name, so a directory of unseen data in the
    documented layout (models/EVALUATION.md) is read as it is.
    """
    return [p for p in _csvs(data_dir / folder) if columns <= _header(p)]


def skab_files(data_dir: Path = DEFAULT_DATA_DIR) -> list[Path]:
    """Every labelled SKAB run: ``equipment/skab/*.csv`` with an ``anomaly`` column.

    ``anomaly-free.csv`` has no labels, so it is left out by the same rule.
    """
    return find(data_dir, "equipment/skab", {"datetime", "anomaly", *SKAB_METRICS})


def skab(path: Path) -> Iterator[tuple[dict[str, Any], int]]:
    """One SKAB run as equipment readings of one unit (the file name is the unit's code).

    Each file is a separate run of the test bench, so each is its own equipment unit of type
    ``pressure_vessel`` (a pump loop); the ``anomaly`` column is the truth.
    """
    name = run_name(path, "skab")
    with _reading(path) as reader:
        for i, row in enumerate(reader):
            record = {
                "event_id": f"{name}-{i}",
                "event_time": _utc(row["datetime"]),
                "equipment_code": f"SKAB-{name}",
                "equipment_type": "pressure_vessel",
                "uscc": _USCC,
                "metrics": {m: float(row[m]) for m in SKAB_METRICS},
            }
            yield record, int(float(row.get("anomaly") or 0))


def nab_files(data_dir: Path = DEFAULT_DATA_DIR) -> list[Path]:
    """Every ``equipment/nab/*.csv`` that has its ``.windows.json`` beside it."""
    return [
        p
        for p in find(data_dir, "equipment/nab", {"timestamp", "value"})
        if p.with_suffix(".windows.json").exists()
    ]


def nab(path: Path) -> Iterator[tuple[dict[str, Any], int]]:
    """One NAB file as one boiler's readings; truth 1 inside a labelled window (ends inclusive)."""
    with _open(path.with_suffix(".windows.json")) as fh:
        windows = [(_utc(w["start"]), _utc(w["end"])) for w in json.load(fh)["windows"]]
    name = run_name(path, "nab")
    with _reading(path) as reader:
        for i, row in enumerate(reader):
            t = _utc(row["timestamp"].replace(" ", "T").split(".")[0])
            record = {
                "event_id": f"{name}-{i}",
                "event_time": t,
                "equipment_code": f"NAB-{name}",
                "equipment_type": "boiler",
                "uscc": _USCC,
                "metrics": {"temperature": float(row["value"])},
            }
            yield record, int(any(a <= t <= b for a, b in windows))


def nab_ambient(data_dir: Path = DEFAULT_DATA_DIR) -> Iterator[tuple[dict[str, Any], int]]:
    """NAB ambient temperature (the shared file), kept for callers that name it."""
    return nab(data_dir / "equipment" / "nab" / "ambient_temperature_system_failure.csv")


ZH_COLUMNS = {"message_id", "subject", "created_at", "body", "category"}
"""Columns of a government-messages file (``complaints/*.csv``)."""


def zh_message_files(data_dir: Path = DEFAULT_DATA_DIR) -> list[Path]:
    """Every ``complaints/*.csv`` with the government-messages columns."""
    return find(data_dir, "complaints", ZH_COLUMNS)


def zh_messages(
    data_dir: Path = DEFAULT_DATA_DIR, files: list[Path] | None = None
) -> Iterator[tuple[dict[str, Any], str]]:
    """Chinese government messages as web complaints, in time order; truth = category.

    The record carries the category (a labelled disposition), which only the model's
    ``learn_one`` reads; ``score_one`` never looks at it. All message files of the folder are
    one stream (sorted by time).
    """
    rows: list[tuple[datetime, dict[str, str]]] = []
    for path in zh_message_files(data_dir) if files is None else files:
        with _reading(path) as reader:
            rows.extend((_local(r["created_at"]), r) for r in reader if r.get("category"))
    rows.sort(key=lambda pair: (pair[0], str(pair[1]["message_id"]).zfill(20)))
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


INSPECTION_COLUMNS = {"Inspection_ID", "Inspection_Date", "License", "Results", "criticalCount"}
"""Columns of a Chicago food-inspections file (``inspections/*.csv[.gz]``)."""
POPULATION_COLUMNS = {"Inspection_ID", "criticalFound"}
"""Columns of a Chicago model table (the pilot's evaluation population), e.g. the train split."""
TABLE_INSPECTION_COLUMNS = {
    "Inspection_ID",
    "Inspection_Date",
    "License",
    "criticalCount",
    "pass_flag",
    "fail_flag",
}
"""What a model table needs to stand for the inspections when a folder has no inspections file
(the City's Test split alone, say): its result is read from ``pass_flag``/``fail_flag``."""


def chicago_inspection_files(data_dir: Path = DEFAULT_DATA_DIR) -> list[Path]:
    """The Chicago inspections of ``data_dir``: files with the food-inspection columns, or, when
    there is none, the model tables that carry each inspection's date, licence, result flags
    and counts. The City publishes its model data (train and test splits) without the raw
    file, so a folder holding only such a table is evaluated, not refused."""
    return find(data_dir, "inspections", INSPECTION_COLUMNS) or find(
        data_dir, "inspections", TABLE_INSPECTION_COLUMNS
    )


def _result(row: dict[str, str]) -> str:
    """A row's result: ``Results`` of an inspections file, else a model table's flags (the
    City's features: ``pass_flag`` is Results == Pass, ``fail_flag`` Results == Fail, both 0 a
    pass with conditions; checked against the shared raw file, all 17,075 train rows agree).

    >>> _result({"Results": "Fail"}), _result({"pass_flag": "1", "fail_flag": "0"})
    ('Fail', 'Pass')
    >>> _result({"pass_flag": "0", "fail_flag": "0"}), _result({"pass_flag": "TRUE", "fail_flag": "0.0"})
    ('Pass w/ Conditions', 'Pass')
    """
    if "Results" in row:
        return row["Results"]
    if _flag(row.get("fail_flag")):
        return "Fail"
    return "Pass" if _flag(row.get("pass_flag")) else "Pass w/ Conditions"


def _flag(text: str | None) -> bool:
    """A 0/1 column as R or a spreadsheet may write it: ``1``, ``1.0``, ``TRUE``."""
    value = (text or "").strip().lower()
    return value in {"true", "t"} or (_float(value) or 0.0) > 0.5


SANITATION_COLUMNS = {"Creation_Date", "Service_Request_Number", "Latitude", "Longitude"}
"""Columns of a 311 sanitation-complaints file (``complaints/*.csv[.gz]``)."""


def chicago_population(data_dir: Path = DEFAULT_DATA_DIR) -> set[str] | None:
    """Inspection ids of the model tables in ``inspections/`` (None: there is none, score all)."""
    files = [
        p
        for p in find(data_dir, "inspections", POPULATION_COLUMNS)
        if not _header(p) >= INSPECTION_COLUMNS
    ]
    if not files:
        return None
    ids: set[str] = set()
    for path in files:
        with _open(path) as fh:
            ids.update(row["Inspection_ID"] for row in csv.DictReader(fh))
    return ids


def chicago_inspectors(data_dir: Path = DEFAULT_DATA_DIR) -> dict[str, str]:
    """Inspection id → the sanitarian assigned (``Inspector_Assigned`` of a model table).

    Who inspects is decided before the inspection, so it is a fair feature (the City's model
    uses it); where no table names one, the record has no inspector.
    """
    out: dict[str, str] = {}
    for path in find(data_dir, "inspections", {"Inspection_ID", "Inspector_Assigned"}):
        with _open(path) as fh:
            out.update(
                (r["Inspection_ID"], r["Inspector_Assigned"])
                for r in csv.DictReader(fh)
                if r["Inspector_Assigned"]
            )
    return out


def chicago_train_ids(data_dir: Path = DEFAULT_DATA_DIR) -> set[str]:
    """Inspection ids of the Chicago model's train split (the pilot's evaluation population)."""
    return chicago_population(data_dir) or set()


def _float(text: str | None) -> float | None:
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and abs(value) < 1e6 else None


def chicago(
    data_dir: Path = DEFAULT_DATA_DIR, files: list[Path] | None = None
) -> Iterator[tuple[dict[str, Any], int]]:
    """Chicago canvass inspections in date order; truth = a critical violation found.

    Only the row's identity, date, place, facility type and risk class go into the record, plus
    its outcome (result and violation counts), which the model reads in ``learn_one`` only. The
    file's ``past*`` columns are not used: the model keeps each licence's history itself, so
    nothing is computed from the future.
    """
    rows: list[dict[str, str]] = []
    for path in chicago_inspection_files(data_dir) if files is None else files:
        with _reading(path) as reader:
            for row in reader:
                date.fromisoformat(row["Inspection_Date"][:10])  # a bad date names its line
                int(row["Inspection_ID"])
                for column in ("criticalCount", "seriousCount", "minorCount"):
                    float(row.get(column) or 0)
                rows.append(row)
    rows.sort(
        key=lambda r: (date.fromisoformat(r["Inspection_Date"][:10]), int(r["Inspection_ID"]))
    )
    inspectors = chicago_inspectors(data_dir)
    outcomes = {"Pass": "pass", "Fail": "fail", "Pass w/ Conditions": "rectify"}
    for row in rows:
        result = _result(row)
        if result not in outcomes:
            continue
        critical = int(float(row["criticalCount"] or 0))
        record = {
            "event_id": row["Inspection_ID"],
            "event_time": _utc(row["Inspection_Date"][:10] + "T12:00:00"),
            "uscc": f"CHI-{row['License']}",
            "entity_name": row.get("DBA_Name") or row["License"],
            "region_code": "CHI",
            "outcome": outcomes[result],
            "critical_count": critical,
            "serious_count": int(float(row.get("seriousCount") or 0)),
            "minor_count": int(float(row.get("minorCount") or 0)),
            "risk_tier": _RISK_TIER.get(row.get("Risk", "")),
            "facility_type": row.get("Facility_Type_Clean") or row.get("Facility_Type") or "Other",
            "inspector_id": inspectors.get(row["Inspection_ID"]),
            "lat": _float(row.get("Latitude")),
            "lon": _float(row.get("Longitude")),
        }
        yield record, int(critical > 0)


def sanitation(data_dir: Path = DEFAULT_DATA_DIR) -> Iterator[dict[str, Any]]:
    """311 sanitation complaints as complaints with a place, in date order (no label).

    Only the creation date, the request's nature and its coordinates are used (the completion
    date may lie in the future of a replay). Rows the City flagged as duplicates and rows without
    coordinates are skipped; the sparse rows before 2011 too (data README).
    """
    rows = []
    for path in find(data_dir, "complaints", SANITATION_COLUMNS):
        with _reading(path) as reader:
            for row in reader:
                lat, lon = _float(row["Latitude"]), _float(row["Longitude"])
                day = row["Creation_Date"][:10]
                if lat is None or lon is None or "Dup" in row.get("Status", "") or day < "2011":
                    continue
                date.fromisoformat(day)  # a bad date names its line
                rows.append((day, row["Service_Request_Number"], lat, lon, row))
    rows.sort(key=lambda r: (r[0], r[1]))
    for day, number, lat, lon, row in rows:
        nature = row.get("What_is_the_Nature_of_this_Code_Violation") or "Other"
        yield {
            "event_id": f"311-{number}",
            "event_time": _utc(day + "T00:00:00"),
            "channel": "12345",
            "text": f"Sanitation Code Violation: {nature}",
            "category": "sanitation",
            "lat": lat,
            "lon": lon,
        }
