"""``riskloop models report``: the models' reporting-part figures as one table, regenerated.

Why: README.md and models/EVALUATION.md quote the models' figures, and figures copied by hand
drift from what the code measures. This module splits a datasets folder by the fixed rule
(bench/split.py), runs each evaluation exactly as EVALUATION.md reports it — the tuning part
learnt first, the reporting part scored; SKAB's normal runs from a cold start — and renders one
Markdown table with each issue #18 goal checked against the figure, not typed in. ``--write``
puts it between the markers in a file, ``--check`` fails when a file's table is not what the
code measures today (the integration suite runs it on README.md and EVALUATION.md).

Deterministic (the models are seeded), so a table differs only when a figure does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench import datasets, evaluations, split
from models.errors import ModelError

if TYPE_CHECKING:
    from pathlib import Path

    from bench.evaluations import Row

START = "<!-- model-figures:start (riskloop models report --write FILE) -->"
END = "<!-- model-figures:end -->"


@dataclass(frozen=True)
class Goals:
    """Issue #18's goals (on unseen data; here checked on the shared reporting part)."""

    skab_f1: float = 0.82
    skab_far: float = 0.10
    skab_mar: float = 0.25
    nab_episodes: int = 2
    zh_macro_f1: float = 0.85
    chicago_top_half: float = 0.72


GOALS = Goals()


@dataclass(frozen=True)
class Figures:
    """Each evaluation's rows (the model's own first, then its references); None where the
    folder holds no file of that dataset's layout."""

    skab: list[Row] | None
    skab_normal: list[Row] | None
    nab: list[Row] | None
    zh: list[Row] | None
    chicago: list[Row] | None


def measure(data_dir: Path, work: Path) -> Figures:
    """Split ``data_dir`` into ``work`` and run every reporting-part evaluation it has files
    for (a bad file still fails, naming its line)."""
    split.split(data_dir, work)
    tune, report, normal = work / "tune", work / "report", work / "normal"
    inspections = datasets.chicago_inspection_files(report)
    return Figures(
        skab=evaluations.skab(report, train_dir=tune)[0] if datasets.skab_files(report) else None,
        skab_normal=evaluations.skab(normal)[0] if datasets.skab_files(normal) else None,
        nab=evaluations.nab(report)[0] if datasets.nab_files(report) else None,
        zh=(
            evaluations.zh_messages(report, train_dir=tune)[0]
            if datasets.zh_message_files(report)
            else None
        ),
        chicago=evaluations.chicago(report, train_dir=tune)[0] if inspections else None,
    )


def _absent(dataset: str) -> list[str]:
    return [f"| {dataset} | – | no file of its layout in the folder | – | – |"]


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _met(ok: bool) -> str:
    return "**met**" if ok else "not met"


def _skab(rows: list[Row], normal: list[Row] | None, goals: Goals) -> list[str]:
    """SKAB's own scoring (every row, as its ``chp_score``) first, then rows after the 400."""
    ours, base = rows
    ok = (
        ours["f1"] >= goals.skab_f1
        and ours["false_alarm_rate"] <= goals.skab_far
        and ours["missed_alarm_rate"] <= goals.skab_mar
    )

    def fmt(row: Row, suffix: str = "") -> str:
        return (
            f"{row['f1' + suffix]:.3f} · {_pct(row['false_alarm_rate' + suffix])} · "
            f"{_pct(row['missed_alarm_rate' + suffix])}"
        )

    windows = f"{ours['windows_detected']:.0f} / {ours['windows']:.0f}"
    line = (
        f"| SKAB, {ours['runs']:.0f} runs, point-wise, scored as SKAB scores (every row) | "
        f"F1 · FAR · MAR · windows | **{fmt(ours)}** · {windows} | "
        f"3-sigma per run (first 400 rows): {fmt(base)} | "
        f"F1 ≥ {goals.skab_f1}, FAR ≤ {_pct(goals.skab_far)}, MAR ≤ {_pct(goals.skab_mar)}: "
        f"{_met(ok)} |"
    )
    after = (
        "| the same, only rows after each run's first 400 (the scoring here until 2026-12-07) "
        "| F1 · FAR · MAR | "
        f"{fmt(ours, '_after_400')} | 3-sigma per run: {fmt(base, '_after_400')} | – |"
    )
    if normal is None:  # no unlabelled SKAB recording in the folder
        return [line, after]
    n_ours, n_base = normal
    normal_line = (
        f"| SKAB normal runs (`anomaly-free.csv` cut in {n_ours['runs']:.0f}, a tuning signal; "
        f"every row · after the first 400) | FAR | {_pct(n_ours['false_alarm_rate'])} · "
        f"{_pct(n_ours['false_alarm_rate_after_400'])} | 3-sigma per run: "
        f"{_pct(n_base['false_alarm_rate'])} · {_pct(n_base['false_alarm_rate_after_400'])} "
        "| – |"
    )
    return [line, after, normal_line]


def _nab(rows: list[Row], goals: Goals) -> list[str]:
    lines = []
    for row in rows:
        if "false_alarm_rate" not in row:  # the all-files total: each file has its own line
            continue
        name = str(row["detector"]).split(" · ", 1)[-1]
        found = row["windows_detected"] == row["windows"]
        ok = found and row["false_alarm_episodes"] <= goals.nab_episodes
        delay = row["mean_delay_h"]
        delay_text = "–" if math.isnan(delay) else f"{delay:.0f} h"  # NaN: none found
        lines.append(
            f"| NAB `{name}` | windows found · false-alarm episodes · mean delay | "
            f"{row['windows_detected']:.0f} / {row['windows']:.0f} · "
            f"{row['false_alarm_episodes']:.0f} · {delay_text} | – | "
            f"every window, ≤ {goals.nab_episodes} episodes: {_met(ok)} |"
        )
    return lines


def _zh(rows: list[Row], goals: Goals) -> list[str]:
    ours, *references = rows
    reference = (
        f"plain ComplementNB, char 1–2-grams: {references[0]['macro_f1']:.3f}"
        if references
        else "–"
    )
    return [
        f"| Government messages, {ours['events']:.0f} after {ours['learnt_first']:.0f} learnt "
        f"| macro-F1 | **{ours['macro_f1']:.3f}** ({ours['macro_f1']:.4f}) | {reference} | "
        f"≥ {goals.zh_macro_f1}: {_met(ours['macro_f1'] >= goals.zh_macro_f1)} |"
    ]


def _chicago(rows: list[Row], goals: Goals) -> list[str]:
    ours = rows[0]
    share = ours["top_half_share"]
    return [
        f"| Chicago inspections, {ours['evaluated']:,.0f} evaluated | critical findings in the "
        f"top-scored half | **{share:.3f}** | random order: 0.500 | "
        f"≥ {goals.chicago_top_half}: {_met(share >= goals.chicago_top_half)} |"
    ]


def render(figures: Figures, goals: Goals = GOALS) -> str:
    """The Markdown table (pure): one line per figure, the goal checked by the code."""
    lines = [
        "| dataset (reporting part; tuning part learnt first) | metric | RiskLoop online model "
        "| reference (its own protocol) | goal (issue #18) |",
        "|---|---|---|---|---|",
        *(_skab(figures.skab, figures.skab_normal, goals) if figures.skab else _absent("SKAB")),
        *(_nab(figures.nab, goals) if figures.nab else _absent("NAB")),
        *(_zh(figures.zh, goals) if figures.zh else _absent("Government messages")),
        *(_chicago(figures.chicago, goals) if figures.chicago else _absent("Chicago")),
    ]
    return "\n".join(lines) + "\n"


def replace(text: str, table: str, *, where: str = "the file") -> str:
    """``text`` with the block between the markers replaced by ``table``."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ModelError(f"{where} has no {START} … {END} block to write the table into")
    head = text[: start + len(START)]
    return f"{head}\n{table}{text[end:]}"


def stale(path: Path, table: str) -> bool:
    """True when ``path``'s table is not ``table``."""
    text = path.read_text(encoding="utf-8")
    return replace(text, table, where=str(path)) != text


def write(path: Path, table: str) -> None:
    """Put ``table`` between the markers of ``path``."""
    text = path.read_text(encoding="utf-8")
    path.write_text(replace(text, table, where=str(path)), encoding="utf-8")
