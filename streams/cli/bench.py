"""``riskloop bench``: throughput, CPU, memory and latency against the real local broker."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from streams.cli.common import console, settings


def register(app: typer.Typer) -> None:
    app.command()(bench)


def bench(
    events: Annotated[
        int | None, typer.Option(min=50, help="events per processor (default 20000; quick 300)")
    ] = None,
    quick: Annotated[
        bool, typer.Option(help="tiny sizes: checks that everything works, in under 2 minutes")
    ] = False,
    out: Annotated[Path, typer.Option(help="folder for the JSON, PNG and Markdown")] = Path(
        "bench-results"
    ),
    seed: Annotated[int, typer.Option(help="seed of the generated stream")] = 7,
    chaos: Annotated[
        bool, typer.Option(help="run the reliability scenarios instead (see bench/RELIABILITY.md)")
    ] = False,
    scenario: Annotated[
        list[str] | None, typer.Option(help="with --chaos: only this scenario (repeatable)")
    ] = None,
) -> None:
    """Raw confluent-kafka loop vs Faust pass-through vs the full pipeline, on fresh topics,
    plus end-to-end latency at half the pipeline's maximum and in-process micro-benchmarks.

    With --chaos: the reliability scenarios (worker SIGKILL, group failover, broker outage,
    PostgreSQL/Redis outage, rule pack every second, 10% garbage), each compared with an
    uninterrupted reference run; a table of events, lost, duplicated and recovery time.
    Exits 1 if any scenario fails."""
    if chaos:
        _chaos(events or 400, scenario, out)
        return
    from bench.report import table
    from bench.suite import Plan, run_bench

    report = run_bench(
        settings(), Plan.make(events, seed, quick), out, say=lambda m: console.print(f"[dim]{m}[/]")
    )
    console.print(table(report))
    for path in report["files"]:
        console.print(f"wrote {path}")


def _chaos(events: int, scenarios: list[str] | None, out: Path) -> None:
    from bench.chaos import HEADER, run_chaos

    outcomes = run_chaos(
        settings(), scenarios, events, out, say=lambda m: console.print(f"[dim]{m}[/]")
    )
    grid = Table(*HEADER)
    for o in outcomes:
        grid.add_row(*o.as_row())
    console.print(grid)
    if not all(o.passed for o in outcomes):
        raise typer.Exit(1)
