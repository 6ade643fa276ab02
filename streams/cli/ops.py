"""``riskloop ops``: operations helpers (Redis views; the dashboard snapshot is added by ``bench``)."""

from __future__ import annotations

import typer

from streams.cli.common import console, settings

app = typer.Typer(
    help="Operations helpers: dashboard snapshots, Redis views.", no_args_is_help=True
)


def register(root: typer.Typer) -> None:
    """Add ``riskloop ops …`` to the root command."""
    root.add_typer(app, name="ops")


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
