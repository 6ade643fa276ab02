"""``riskloop ops``: operations helpers (dashboard snapshots without Grafana)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streams.cli.common import console, settings

app = typer.Typer(
    help="Operations helpers: dashboard snapshots, Redis views.", no_args_is_help=True
)


def register(root: typer.Typer) -> None:
    """Add ``riskloop ops …`` to the root command."""
    root.add_typer(app, name="ops")


@app.command("snapshot-dashboard")
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
        settings(), dashboard=dashboard or MAIN_DASHBOARD, out=out, events=events,
        seconds=seconds, seed=seed, say=lambda m: console.print(f"[dim]{m}[/]"),
    )  # fmt: skip
    size = result.out.stat().st_size // 1024
    console.print(f"wrote {result.out} ({size} KB): {result.panels} panels, {result.events} events")
    if result.empty:
        console.print(f"[yellow]panels without data in this run:[/] {', '.join(result.empty)}")


@app.command("rebuild-views")
def rebuild_views() -> None:
    """Rewrite Redis's live views (open tasks per department, today's warning counts) from the
    SQL task store: after Redis lost its data, or when a view looks wrong. Safe while workers
    run: their later writes are idempotent and newer, so a view is right after their next
    flush."""
    import asyncio
    from datetime import UTC, datetime

    from sinks.redis_views import RedisViews
    from sinks.sql import SqlStore

    s = settings()

    async def run() -> int:
        views = RedisViews.from_settings(s, name="redis-rebuild")
        store = SqlStore.from_settings(s)
        try:
            return await views.rebuild(store, now=datetime.now(UTC))
        finally:
            store.close()
            await views.client.aclose()  # type: ignore[attr-defined]  # stubs predate aclose

    count = asyncio.run(run())
    console.print(f"rebuilt the Redis views from the task store: {count} open tasks and warnings")
