"""``riskloop worker`` and ``riskloop demo``: run the stream processor."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streams.cli.common import settings


def register(app: typer.Typer) -> None:
    """Add ``riskloop worker`` and ``riskloop demo`` to the root command."""
    app.command()(worker)
    app.command()(demo)


def worker(
    web_port: Annotated[
        int | None, typer.Option(help="HTTP port (/metrics, API); default from settings")
    ] = None,
    loglevel: Annotated[str | None, typer.Option(help="log level; default from settings")] = None,
) -> None:
    """Run a Faust worker: consume the source topics, score, warn, dispatch (Ctrl-C stops it)."""
    from streams.runner import run_worker

    overrides: dict[str, object] = {}
    if web_port is not None:
        overrides["web_port"] = web_port
    if loglevel is not None:
        overrides["log_level"] = loglevel
    run_worker(settings().with_overrides(**overrides))


def demo(
    events: Annotated[
        Path | None,
        typer.Option(help="JSONL of {source, event} to replay; default: a generated sample"),
    ] = None,
    count: Annotated[int, typer.Option(help="events in the generated sample")] = 200,
    seed: Annotated[int, typer.Option(help="seed of the generated sample")] = 7,
    timeout: Annotated[
        float, typer.Option(help="seconds to wait for the alerts before stopping")
    ] = 90.0,
    keep_running: Annotated[
        bool, typer.Option(help="leave Kafka/Redis/PostgreSQL running afterwards")
    ] = False,
    stay: Annotated[
        bool,
        typer.Option(help="keep the worker and the console running after the replay (Ctrl-C)"),
    ] = False,
) -> None:
    """The main job end to end on the embedded defaults (local broker, SQLite): start the
    infrastructure, start a worker, replay a sample, print the alerts as they arrive, stop."""
    from streams.demo import run_demo

    run_demo(
        settings(),
        events=events,
        count=count,
        seed=seed,
        timeout=timeout,
        keep_running=keep_running,
        stay=stay,
    )
