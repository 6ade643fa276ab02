"""The honest protocol: split a datasets folder into a tuning part and a reporting part.

Hyperparameters are chosen on ``tune/`` and figures are reported on ``report/`` (with
``--train-dir tune``: the model has learnt the tuning part first, as a deployed model has
learnt the past), both in the same layout as the source folder, so the same
``riskloop models evaluate`` reads them. The rule is fixed and documented, never chosen per file
(models/EVALUATION.md):

- SKAB: the labelled runs in name order, alternately — 1st, 3rd, … tune; 2nd, 4th, … report
  (every fault family lands on both sides);
- NAB: every file reports; nothing of NAB is tuned (its settings are fixed in time, a priori);
- government messages: in time order, the first ``TUNE_SHARE`` tune, the rest report;
- Chicago: inspections, model tables and 311 complaints cut at one date, the date before which
  ``TUNE_SHARE`` of the inspections fall;
- SKAB's unlabelled normal recording (``anomaly-free.csv``, any SKAB file without ``anomaly``)
  goes to a third part, ``normal/``, cut into runs of ``NORMAL_RUN_ROWS`` labelled all normal:
  a tuning signal for false alarms. Each labelled run is mostly fault, so its few normal rows
  hid how often ordinary drifts and flow changes raise alarms (models/EVALUATION.md: 2.8% of
  the tuning runs' normal rows flagged, 18.2% of these).

Files the split does not know are not copied.
"""

from __future__ import annotations

import csv
import gzip
import shutil
from datetime import date
from typing import TYPE_CHECKING, Any

from bench import datasets
from models.errors import ModelError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

TUNE_SHARE = 0.6
"""Share of a time-ordered dataset (messages, Chicago inspections) in the tuning part."""

NORMAL_RUN_ROWS = 1150
"""Rows of each run cut from a normal recording: the labelled runs' usual length (1,137–1,190
rows on the shared data), so each run has SKAB's 400-row training part and ~750 scored rows."""


def alternate(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Files in name order, alternately to tuning and reporting.

    >>> from pathlib import Path
    >>> alternate([Path("b"), Path("a"), Path("c")])
    ([PosixPath('a'), PosixPath('c')], [PosixPath('b')])
    """
    ordered = sorted(paths, key=lambda p: p.name)
    return ordered[0::2], ordered[1::2]


def cut_index(n: int, share: float = TUNE_SHARE) -> int:
    """How many of ``n`` time-ordered rows tune (at least one on each side when n ≥ 2).

    >>> cut_index(297), cut_index(2), cut_index(1)
    (178, 1, 1)
    """
    if n < 2:
        return n
    return min(max(int(n * share), 1), n - 1)


def cut_date(days: Iterable[date], share: float = TUNE_SHARE) -> date:
    """The first day of the reporting part: rows dated before it are ``share`` of all (≈).

    >>> cut_date([date(2020, 1, d) for d in range(1, 11)])
    datetime.date(2020, 1, 7)
    """
    ordered = sorted(days)
    if not ordered:
        raise ModelError("no dated rows to split")
    return ordered[cut_index(len(ordered), share)]


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """A file's columns (the layout's names) and rows; a part is written comma-separated."""
    with datasets._reading(path) as reader:
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, header: list[str], rows: Iterable[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    opener: Callable[..., Any] = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _split_rows(
    src: Path, folder: str, out: tuple[Path, Path], is_tuning: Callable[[dict[str, str]], bool]
) -> None:
    header, rows = _rows(src)
    _write(out[0] / folder / src.name, header, (r for r in rows if is_tuning(r)))
    _write(out[1] / folder / src.name, header, (r for r in rows if not is_tuning(r)))


def normal_runs(
    rows: list[dict[str, str]], size: int = NORMAL_RUN_ROWS
) -> list[list[dict[str, str]]]:
    """Consecutive runs of ``size`` rows, each labelled normal; a shorter tail is dropped.

    >>> [len(r) for r in normal_runs([{"v": "1"}] * 5, size=2)], normal_runs([{"v": "1"}], 2)
    ([2, 2], [])
    """
    return [
        [{**row, "anomaly": "0", "changepoint": "0"} for row in rows[i : i + size]]
        for i in range(0, len(rows) - size + 1, size)
    ]


def _split_normal(data_dir: Path, normal: Path) -> str | None:
    """SKAB's unlabelled recordings cut into runs under ``normal/`` (see the module docstring)."""
    labelled = set(datasets.skab_files(data_dir))
    sources = [
        p
        for p in datasets.find(data_dir, "equipment/skab", {"datetime", *datasets.SKAB_METRICS})
        if p not in labelled
    ]
    made = []
    for p in sources:
        header, rows = _rows(p)
        runs = normal_runs(rows)
        for k, run in enumerate(runs, start=1):
            _write(
                normal / "equipment" / "skab" / f"{datasets.run_name(p, 'skab')}-{k:02d}.csv",
                [*header, *(c for c in ("anomaly", "changepoint") if c not in header)],
                run,
            )
        made.append(f"{p.stem} cut into {len(runs)} runs of {NORMAL_RUN_ROWS} rows")
    return "; ".join(made) + " (all normal: a tuning signal for false alarms)" if made else None


def _copy(src: Path, data_dir: Path, part: Path) -> None:
    """``src`` into ``part`` at the same place below ``data_dir`` (subfolders kept)."""
    dest = part / src.relative_to(data_dir)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)


def split(data_dir: Path, out_dir: Path, share: float = TUNE_SHARE) -> dict[str, str]:
    """Write ``out_dir/tune``, ``out_dir/report`` (and ``out_dir/normal`` when SKAB has a normal
    recording); returns what went where (for the docs)."""
    tune, report = out_dir / "tune", out_dir / "report"
    summary: dict[str, str] = {}

    skab_tune, skab_report = alternate(datasets.skab_files(data_dir))
    for part, paths in ((tune, skab_tune), (report, skab_report)):
        for p in paths:
            _copy(p, data_dir, part)
    summary["skab"] = (
        f"tune {', '.join(datasets.run_name(p, 'skab') for p in skab_tune)}; "
        f"report {', '.join(datasets.run_name(p, 'skab') for p in skab_report)}"
    )
    normal = _split_normal(data_dir, out_dir / "normal")
    if normal:
        summary["skab normal"] = normal

    nab = datasets.nab_files(data_dir)
    for p in nab:
        for f in (p, p.with_suffix(".windows.json")):
            _copy(f, data_dir, report)
    summary["nab"] = f"report {', '.join(datasets.run_name(p, 'nab') for p in nab)} (nothing tuned)"

    messages = list(datasets.zh_messages(data_dir))
    if messages:
        k = cut_index(len(messages), share)
        tuning_ids = {e["event_id"].removeprefix("msg-") for e, _ in messages[:k]}
        for p in datasets.zh_message_files(data_dir):
            _split_rows(p, "complaints", (tune, report), lambda r: r["message_id"] in tuning_ids)
        summary["zh-messages"] = (
            f"tune the first {k} of {len(messages)} messages in time order "
            f"(to {messages[k - 1][0]['event_time']:%Y-%m-%d}), report the other {len(messages) - k}"
        )

    inspections = datasets.chicago_inspection_files(data_dir)
    if inspections:
        days = [
            date.fromisoformat(r["Inspection_Date"][:10]) for p in inspections for r in _rows(p)[1]
        ]
        cut = cut_date(days, share).isoformat()
        for p in datasets.find(data_dir, "inspections", {"Inspection_ID", "Inspection_Date"}):
            _split_rows(p, "inspections", (tune, report), lambda r: r["Inspection_Date"] < cut)
        for p in datasets.find(data_dir, "complaints", datasets.SANITATION_COLUMNS):
            _split_rows(p, "complaints", (tune, report), lambda r: r["Creation_Date"] < cut)
        summary["chicago"] = f"tune inspections and 311 complaints before {cut}, report from {cut}"
    return summary
