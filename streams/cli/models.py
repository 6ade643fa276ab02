"""``riskloop models``: list the model factories and evaluate them on the labelled datasets.

The lead registers this sub-app and adds publish/rollback (they need Kafka). ``evaluate`` runs
the same prequential loop a worker runs (score, then learn; labels only through the loop) and
prints a table; ``--plot`` writes score vs label as a PNG, ``--json`` the rows for scripts.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from models.datasets import DEFAULT_DATA_DIR
from schemas.errors import RiskLoopError

app = typer.Typer(help="Online models: list factories, evaluate them progressively on datasets.")

_DEFAULT_FACTORY = {
    "skab": "equipment-anomaly",
    "nab": "equipment-anomaly",
    "chicago": "inspection-risk",
    "zh-messages": "complaint-classifier",
}


def _fail(message: str) -> None:
    Console(stderr=True, highlight=False).print(f"error: {message}", markup=False)
    raise typer.Exit(1)


@app.command("list")
def list_models() -> None:
    """The registered model factories: name, source, state version, what they do."""
    table = Table("factory", "source", "state version", "description")
    from models.registry import factories  # River and SciPy: only when the command runs

    for f in factories():
        table.add_row(f.name, f.source, f.version, f.description)
    Console(soft_wrap=True).print(table)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.0f}" if value.is_integer() and abs(value) >= 1 else f"{value:.3f}"
    return str(value)


@app.command()
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
        Path, typer.Option(help="datasets folder in the documented layout (models/EVALUATION.md)")
    ] = DEFAULT_DATA_DIR,
    train_dir: Annotated[
        Path | None,
        typer.Option(help="learn this folder's files first (not reported), then score --data-dir"),
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="write score vs label to this PNG")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print rows as JSON lines")] = False,
) -> None:
    """Progressive (prequential) evaluation of a model on a labelled dataset."""
    from models import benchmarks  # River and SciPy: only when the command runs
    from models.evaluation import plot_trace

    run = benchmarks.DATASETS.get(dataset)
    if run is None:
        _fail(f"unknown dataset {dataset!r}; use one of: {', '.join(benchmarks.DATASETS)}")
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
        rows, trace = run(data_dir, **kwargs)
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
        plot_trace(plot, trace, f"{dataset}: {kwargs['factory']} score vs label")
        Console(stderr=True).print(f"plot written to {plot}")


@app.command()
def split(
    out_dir: Annotated[
        Path,
        typer.Argument(
            help="writes OUT_DIR/tune, OUT_DIR/report and OUT_DIR/normal (SKAB normal runs)"
        ),
    ],
    data_dir: Annotated[
        Path, typer.Option(help="datasets folder in the documented layout")
    ] = DEFAULT_DATA_DIR,
) -> None:
    """Split datasets into a tuning and a reporting part (the rule: models/EVALUATION.md)."""
    try:
        from models import protocol  # only when the command runs

        summary = protocol.split(data_dir, out_dir)
    except RiskLoopError as exc:
        _fail(str(exc))
        return
    for dataset, where in summary.items():
        typer.echo(f"{dataset}: {where}")
