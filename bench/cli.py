"""The benchmark's commands, a plug-in of the ``riskloop`` CLI.

``riskloop bench`` (throughput, CPU, memory and latency against the real local broker) and
``riskloop ops snapshot-dashboard`` live here, with the code they run, and reach the CLI through
the ``riskloop.commands`` entry points (pyproject.toml): ``bench/`` builds on ``streams/``, so
``streams/`` must not import it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from streams.cli.common import console, settings


def register_bench(root: typer.Typer) -> None:
    """Add ``riskloop bench`` to the root command."""
    root.command()(bench)


def register_ops(root: typer.Typer) -> None:
    """Add ``snapshot-dashboard`` to ``riskloop ops`` (loaded before this plug-in)."""
    from streams.cli.ops import app as ops

    ops.command("snapshot-dashboard")(snapshot_dashboard)


def bench(
    events: Annotated[
        int | None, typer.Option(min=50, help="events per processor (default 20000; quick 300)")
    ] = None,
    repeat: Annotated[
        int | None,
        typer.Option(min=1, help="runs of each processor (default 3; quick 1): min/median/max"),
    ] = None,
    entities: Annotated[
        int | None,
        typer.Option(
            min=3,
            help="distinct entities (enterprises, equipment, plates) in the stream, each at "
            "least once; needs --events ≥ this (default: the generator's 78, skewed)",
        ),
    ] = None,
    wide_baseline: Annotated[
        bool | None,
        typer.Option(
            help="also the Faust '5 table writes + 2 sends' baseline (default: not quick)"
        ),
    ] = None,
    only: Annotated[
        str | None,
        typer.Option(
            help="run only this processor: 'pipeline' (the RiskLoop worker alone, e.g. for its "
            "peak RSS with --entities 100000, without the baselines' ~minutes); ratios to the "
            "baselines are then not printed"
        ),
    ] = None,
    sql: Annotated[
        str | None,
        typer.Option(
            help="the pipeline's SQL store: sqlite (a fresh file per run) or postgres (a fresh "
            "database per run on RISKLOOP_SQL_URL's server, else the dev stack's); default: "
            "what RISKLOOP_SQL_URL is"
        ),
    ] = None,
    start_services: Annotated[
        bool,
        typer.Option(help="start the dev stack's Kafka/Redis/PostgreSQL if down (else: refuse)"),
    ] = False,
    quick: Annotated[
        bool,
        typer.Option(help="tiny sizes, one run, no chart: checks that everything works in < 1 min"),
    ] = False,
    out: Annotated[Path, typer.Option(help="folder for the JSON, PNG and Markdown")] = Path(
        "bench-results"
    ),
    seed: Annotated[int, typer.Option(help="seed of the generated stream")] = 7,
    timeout: Annotated[
        float | None,
        typer.Option(
            min=10,
            help="seconds one processor may take to drain the input before the run fails "
            "(default 120 + events/100; raise it on a loaded machine)",
        ),
    ] = None,
    chaos: Annotated[
        bool, typer.Option(help="run the reliability scenarios instead (see bench/RELIABILITY.md)")
    ] = False,
    scenario: Annotated[
        list[str] | None, typer.Option(help="with --chaos: only this scenario (repeatable)")
    ] = None,
) -> None:
    """Raw confluent-kafka loop vs Faust baselines (pass-through; one table write + one send;
    five writes + two sends) vs the full pipeline, each run --repeat times on fresh topics, plus
    the pipeline's output volume, first-commit stall, end-to-end latency at half its end-to-end
    capacity, and in-process micro-benchmarks. Prints Markdown (pasteable into README); a
    figure whose drain was too short to resolve is marked so, never printed as a bare number.

    With --chaos: the reliability scenarios (worker SIGKILL, group failover, broker outage,
    PostgreSQL/Redis outage, rule pack every second, 10% garbage), each compared with an
    uninterrupted reference run; a table of events, lost, duplicated and recovery time.
    Exits 1 if any scenario fails."""
    if chaos:
        _chaos(events or 400, scenario, out)
        return
    from bench.render import markdown
    from bench.suite import Plan, run_bench

    if only not in (None, "pipeline"):
        raise typer.BadParameter("the one choice is 'pipeline'", param_hint="--only")
    if sql not in (None, "sqlite", "postgres"):
        raise typer.BadParameter("choose sqlite or postgres", param_hint="--sql")
    started = time.monotonic()

    def say(message: str) -> None:
        console.print(f"[dim]{time.monotonic() - started:6.1f} s  {message}[/]")

    plan = Plan.make(
        events,
        seed,
        quick,
        repeat=repeat,
        entities=entities,
        wide_baseline=wide_baseline,
        sql=sql,
        start_services=start_services,
        timeout=timeout,
        only_pipeline=only == "pipeline",
    )
    report = run_bench(settings(), plan, out, say=say)
    print()
    print(markdown(report))
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


def snapshot_dashboard(
    dashboard: Annotated[
        Path | None,
        typer.Option(help="Grafana dashboard JSON (default: the data-flow-and-health one)"),
    ] = None,
    out: Annotated[Path, typer.Option(help="PNG to write")] = Path("docs/dashboard.png"),
    events: Annotated[int, typer.Option(min=50, help="events to replay")] = 3000,
    seconds: Annotated[float, typer.Option(min=10, help="how long the replay lasts")] = 60.0,
    seed: Annotated[int, typer.Option(help="seed of the generated stream")] = 7,
) -> None:
    """Render a Grafana dashboard to PNG from a real run: a worker on private topics, a
    Prometheus scraping it every second, a replayed stream, every panel's PromQL as range
    queries. Needs the local Kafka (`riskloop dev up`); stops everything it started."""
    from bench.dashboard import MAIN_DASHBOARD, run_snapshot

    result = run_snapshot(
        settings(),
        dashboard=dashboard or MAIN_DASHBOARD,
        out=out,
        events=events,
        seconds=seconds,
        seed=seed,
        say=lambda m: console.print(f"[dim]{m}[/]"),
    )
    size = result.out.stat().st_size // 1024
    console.print(f"wrote {result.out} ({size} KB): {result.panels} panels, {result.events} events")
    if result.empty:
        console.print(f"[yellow]panels without data in this run:[/] {', '.join(result.empty)}")
