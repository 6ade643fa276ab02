"""``riskloop models evaluate``, ``split``, ``report`` and ``search``: the models on the labelled datasets.

A plug-in of the CLI (pyproject.toml, ``riskloop.commands``: ``models``), added to the
``riskloop models`` group that ``streams/cli/models.py`` defines: both commands read dataset
files (``bench/datasets.py``) and one draws (``bench/plots.py``), which is the tools' work, and
``streams/`` never imports ``bench/``. ``evaluate`` runs the same prequential loop a worker runs
(score, then learn; labels only through the loop) and prints a table; ``--plot`` writes score vs
label as a PNG, ``--json`` the rows for scripts. Without ``--data-dir`` both read the
``datasets_dir`` setting (``RISKLOOP_DATASETS_DIR``, default ``../shared/data``).
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from schemas.errors import RiskLoopError
from streams.cli.common import settings


def register(root: typer.Typer) -> None:
    """Add ``evaluate``, ``split``, ``report`` and ``search`` to ``riskloop models`` (loaded
    before this plug-in)."""
    from streams.cli.models import app as models

    models.command()(evaluate)
    models.command()(split)
    models.command()(report)
    models.command()(search)


_DEFAULT_FACTORY = {
    "skab": "equipment-anomaly",
    "nab": "equipment-anomaly",
    "chicago": "inspection-risk",
    "zh-messages": "complaint-classifier",
}


def _fail(message: str) -> None:
    Console(stderr=True, highlight=False).print(f"error: {message}", markup=False)
    raise typer.Exit(1)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.0f}" if value.is_integer() and abs(value) >= 1 else f"{value:.3f}"
    return str(value)


def evaluate(
    dataset: Annotated[str, typer.Argument(help="skab | nab | chicago | zh-messages")],
    factory: Annotated[str | None, typer.Option(help="model factory (default per dataset)")] = None,
    params: Annotated[
        str, typer.Option(help="factory params as JSON, e.g. '{\"q\": 0.98}'")
    ] = "{}",
    label_delay: Annotated[
        int, typer.Option(min=0, help="events before a label reaches the model")
    ] = 0,
    feedback: Annotated[
        bool, typer.Option(help="feed each alert's truth back via learn_label (anomaly models)")
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="datasets folder in the documented layout (models/EVALUATION.md); "
            "default: RISKLOOP_DATASETS_DIR"
        ),
    ] = None,
    train_dir: Annotated[
        Path | None,
        typer.Option(help="learn this folder's files first (not reported), then score --data-dir"),
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="write score vs label to this PNG")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print rows as JSON lines")] = False,
) -> None:
    """Progressive (prequential) evaluation of a model on a labelled dataset."""
    from bench import evaluations  # River and SciPy: only when the command runs

    run = evaluations.DATASETS.get(dataset)
    if run is None:
        _fail(f"unknown dataset {dataset!r}; use one of: {', '.join(evaluations.DATASETS)}")
        return
    try:
        parsed = json.loads(params)
    except json.JSONDecodeError as exc:
        _fail(f"--params is not JSON: {exc}")
        return
    kwargs: dict[str, Any] = {
        "factory": factory or _DEFAULT_FACTORY[dataset],
        "params": parsed,
        "label_delay": label_delay,
        "train_dir": train_dir,
    }
    if dataset in {"skab", "nab"}:
        kwargs["feedback"] = feedback
    try:
        rows, trace = run(data_dir or settings().datasets_dir, **kwargs)
    except RiskLoopError as exc:
        _fail(str(exc))
        return
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False, default=str))
    else:
        # One column per detector, one row per metric: stays readable on a narrow terminal.
        metrics = [k for k in dict.fromkeys(k for row in rows for k in row) if k != "detector"]
        table = Table(
            "metric",
            *(str(row["detector"]) for row in rows),
            title=f"{dataset} (prequential, label delay {label_delay})",
        )
        for metric in metrics:
            table.add_row(metric, *(_fmt(row.get(metric, "")) for row in rows))
        Console(soft_wrap=True).print(table)
    if plot is not None:
        from bench.plots import plot_trace  # matplotlib: only when a plot is asked for

        plot_trace(plot, trace, f"{dataset}: {kwargs['factory']} score vs label")
        Console(stderr=True).print(f"plot written to {plot}")


def split(
    out_dir: Annotated[
        Path,
        typer.Argument(
            help="writes OUT_DIR/tune, OUT_DIR/report and OUT_DIR/normal (SKAB normal runs)"
        ),
    ],
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="datasets folder in the documented layout; default: RISKLOOP_DATASETS_DIR"
        ),
    ] = None,
) -> None:
    """Split datasets into a tuning and a reporting part (the rule: models/EVALUATION.md)."""
    try:
        from bench import split as splitting  # only when the command runs

        summary = splitting.split(data_dir or settings().datasets_dir, out_dir)
    except RiskLoopError as exc:
        _fail(str(exc))
        return
    for dataset, where in summary.items():
        typer.echo(f"{dataset}: {where}")


def report(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="datasets folder in the documented layout; default: RISKLOOP_DATASETS_DIR"
        ),
    ] = None,
    write: Annotated[
        list[Path] | None,
        typer.Option(help="put the table between the model-figures markers of this file"),
    ] = None,
    check: Annotated[
        list[Path] | None,
        typer.Option(help="exit 1 if this file's table is not what is measured now"),
    ] = None,
) -> None:
    """The reporting-part figures of every model as one Markdown table (README, EVALUATION)."""
    import tempfile

    from bench import model_report  # River and SciPy: only when the command runs

    try:
        with tempfile.TemporaryDirectory(prefix="riskloop-report-") as work:
            figures = model_report.measure(data_dir or settings().datasets_dir, Path(work))
        table = model_report.render(figures)
        for path in write or []:
            model_report.write(path, table)
        behind = [str(p) for p in check or [] if model_report.stale(p, table)]
    except (RiskLoopError, OSError) as exc:
        _fail(str(exc))
        return
    typer.echo(table, nl=False)
    if behind:
        _fail(
            f"stale model figures in {', '.join(behind)}: "
            "run `riskloop models report --write FILE` and commit"
        )


def search(
    dataset: Annotated[str, typer.Argument(help="nab (the only dataset searched per file)")],
    tuning_dir: Annotated[
        Path, typer.Option(help="the tuning part: NAB files in the documented layout")
    ],
    grid: Annotated[
        Path, typer.Option(help='JSON: {"setting": [value, ...]}; null leaves an option off')
    ],
    max_false_alarm_rate: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="a design qualifies only under this on every file"),
    ] = 0.05,
    max_episodes: Annotated[
        int, typer.Option(min=0, help="the goal: false-alarm episodes per file at most")
    ] = 2,
    top: Annotated[int, typer.Option(min=1, help="designs to print")] = 10,
    out: Annotated[
        Path | None, typer.Option(help="write every design's per-file figures as JSON lines")
    ] = None,
) -> None:
    """Rank a grid of settings on a tuning part by the rule of models/EVALUATION.md's NAB rounds."""
    from bench import model_search  # River and SciPy: only when the command runs

    if dataset != "nab":
        _fail(
            f"search covers nab only (got {dataset!r}); SKAB's rounds are in models/EVALUATION.md"
        )
        return
    try:
        points = model_search.read_grid(grid)
        total = math.prod(len(values) for values in points.values())
        measured = itertools.count(1)

        def progress(_: model_search.Design) -> None:
            n = next(measured)
            if n % 25 == 0 or n == total:
                typer.echo(f"{n} / {total} designs measured", err=True)

        ranked = model_search.search(
            tuning_dir,
            points,
            max_false_alarm_rate=max_false_alarm_rate,
            max_episodes=max_episodes,
            progress=progress,
        )
        if out is not None:
            with out.open("w", encoding="utf-8") as fh:
                for design in ranked:
                    fh.write(json.dumps(design.as_json(), ensure_ascii=False) + "\n")
    except (RiskLoopError, OSError) as exc:
        _fail(str(exc))
        return
    qualifying = [d for d in ranked if d.qualifies(max_false_alarm_rate)]
    table = Table(
        "#",
        "settings",
        "goal met",
        "windows",
        "episodes",
        "max FAR",
        title=f"{len(qualifying)} of {len(ranked)} designs qualify "
        f"(false-alarm rate ≤ {max_false_alarm_rate:.1%} on every file)",
    )
    for rank, design in enumerate(qualifying[:top], 1):
        files = design.files.values()
        table.add_row(
            str(rank),
            json.dumps(design.params),
            f"{design.met(max_episodes)} / {len(files)}",
            f"{sum(f.found for f in files)} / {sum(f.windows for f in files)}",
            str(sum(f.episodes for f in files)),
            f"{max(f.false_alarm_rate for f in files):.1%}",
        )
    Console(soft_wrap=True).print(table)
