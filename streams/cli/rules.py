"""``riskloop rules``: validate, test and backtest rule packs offline.

``streams/cli/control.py`` adds to this sub-app the commands that need Kafka (publish, rollback, list).
Every deliberate problem prints as one line per problem, never a traceback, and exits non-zero,
so the commands fit pre-commit hooks and CI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from rules.compiler import CompiledPack, expand_paths, load_pack
from rules.errors import PackInvalid
from rules.testing import run_examples
from schemas.errors import RiskLoopError

app = typer.Typer(help="Rule packs: validate, test against their examples, backtest on recordings.")

PackArgs = Annotated[list[Path], typer.Argument(help="pack files, or folders of *.yaml packs")]


def _console() -> Console:
    return Console(soft_wrap=True)


def _error(line: str) -> None:
    """One problem, one line, on stderr (no markup or highlighting of the pack's text)."""
    Console(stderr=True, soft_wrap=True, highlight=False).print(f"error: {line}", markup=False)


def _load(paths: list[Path], console: Console) -> list[CompiledPack]:
    """Load every pack, print every problem of every bad one, exit 1 if any was bad."""
    packs, bad = [], False
    files = expand_paths(paths)
    if not files:
        _error("no pack files given or found")
        raise typer.Exit(1)
    for path in files:
        try:
            packs.append(load_pack(path))
        except PackInvalid as exc:
            bad = True
            for problem in exc.problems:
                _error(f"{exc.origin}: {problem}")
    if bad:
        raise typer.Exit(1)
    return packs


@app.command()
def validate(packs: PackArgs) -> None:
    """Check packs: schema, CEL syntax, field names and types against the data standard."""
    console = _console()
    loaded = _load(packs, console)
    table = Table(title="rule packs")
    table.add_column("pack", no_wrap=True)
    for column in ("version", "owner", "rules", "active", "shadow", "disabled", "sha256"):
        table.add_column(column, overflow="fold")
    for pack in loaded:
        modes = [r.mode for r in pack.rules]
        table.add_row(
            pack.name,
            pack.version,
            pack.spec.owner,
            str(len(pack.rules)),
            str(modes.count("active")),
            str(modes.count("shadow")),
            str(modes.count("disabled")),
            pack.content_hash.removeprefix("sha256:")[:12],
        )
    console.print(table)


@app.command()
def test(packs: PackArgs) -> None:
    """Run every rule's fire / no-fire examples; exit 1 if any fails."""
    console = _console()
    loaded = _load(packs, console)
    rows = [row for pack in loaded for row in run_examples(pack)]
    failed = sum(not row.passed for row in rows)
    table = Table(title="rule examples")
    table.add_column("rule", no_wrap=True)
    for column in ("example", "expected", "hits", "result"):
        table.add_column(column, overflow="fold")
    if failed:
        table.add_column("detail", overflow="fold")
    for row in rows:
        cells = [row.rule_id, row.example, row.expected, str(row.got)]
        cells.append("[green]pass[/green]" if row.passed else "[red]FAIL[/red]")
        if failed:
            cells.append("" if row.passed else row.detail)
        table.add_row(*cells)
    console.print(table)
    if failed:
        _error(f"{failed} example(s) failed")
        raise typer.Exit(1)
    console.print("all examples pass")


@app.command()
def backtest(
    packs: PackArgs,
    source_file: Annotated[
        Path,
        typer.Option(
            "--from",
            help='JSON Lines of {"source": ..., "event": {...}}, or a dataset (CSV, CSV.gz) '
            "read through its mapping with --source",
        ),
    ],
    source: Annotated[
        str | None, typer.Option(help="the dataset's source (inspections, trucks, …)")
    ] = None,
    mapping: Annotated[
        str | None, typer.Option(help="mapping name or file (default: the shipped one)")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="only the first N rows")] = None,
    tick: Annotated[str, typer.Option(help="absence-timer tick on the replay clock")] = "5m",
) -> None:
    """Replay recorded events through packs: hits per rule, geo detections, task load per
    routed department and per month, example hits."""
    from schemas.durations import parse_duration

    console = _console()
    loaded = _load(packs, console)
    try:
        every = parse_duration(tick)
        if source is not None:
            from streams.backtest_data import backtest_dataset

            report = backtest_dataset(loaded, source_file, source, mapping, limit, every)
        else:
            with source_file.open(encoding="utf-8") as lines:
                from rules.backtest import backtest as run_backtest  # the engine: only to run

                report = run_backtest(loaded, lines, tick_every=every)
    except UnicodeDecodeError as exc:
        _error(f"{source_file}: not UTF-8 JSON Lines; a dataset needs --source (and --mapping)")
        raise typer.Exit(1) from exc
    except OSError as exc:
        _error(f"{source_file}: cannot read: {exc.strerror or exc}")
        raise typer.Exit(1) from exc
    except RiskLoopError as exc:
        _error(str(exc))
        raise typer.Exit(1) from exc
    rules = Table(title=f"hits per rule ({report.events} events)")
    rules.add_column("rule", no_wrap=True)
    for column in ("level", "active hits", "shadow hits", "warnings"):
        rules.add_column(column, overflow="fold")
    for rule_id, level, active, shadow in report.rule_rows():
        rules.add_row(rule_id, level, str(active), str(shadow), str(report.warnings[rule_id]))
    console.print(rules)
    load = Table(title="task load per department")
    load.add_column("department")
    load.add_column("tasks")
    for department, count in sorted(report.tasks.items()):
        load.add_row(department, str(count))
    console.print(load)
    if report.detections:
        console.print(
            "geo detections: "
            + ", ".join(f"{kind} {n}" for kind, n in sorted(report.detections.items()))
        )
    if report.by_month:
        months = Table(title="new tasks per month and routed department")
        for column in ("month", "department", "tasks"):
            months.add_column(column)
        for (month, department), count in sorted(report.by_month.items()):
            months.add_row(month, department, str(count))
        console.print(months)
    for hit in report.first_hits[:5]:
        console.print(
            f"example: {hit.rule_id} · {hit.entity} · {hit.event_time.isoformat()} · "
            f"{hit.level.value}",
            highlight=False,
            markup=False,
        )
    for line in report.bad_lines[:20]:
        console.print(f"[yellow]skipped[/yellow] {line}", highlight=False)
    if report.bad_lines:
        console.print(f"[yellow]{len(report.bad_lines)} line(s) skipped[/yellow]")
