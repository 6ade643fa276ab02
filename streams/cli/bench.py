"""``riskloop bench``: throughput, CPU, memory and latency against the real local broker."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
) -> None:
    """Raw confluent-kafka loop vs Faust pass-through vs the full pipeline, on fresh topics,
    plus end-to-end latency at half the pipeline's maximum and in-process micro-benchmarks."""
    from bench.report import table
    from bench.suite import Plan, run_bench

    report = run_bench(
        settings(), Plan.make(events, seed, quick), out, say=lambda m: console.print(f"[dim]{m}[/]")
    )
    console.print(table(report))
    for path in report["files"]:
        console.print(f"wrote {path}")
