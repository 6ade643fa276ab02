"""``riskloop ops``: operations helpers (Redis views: rebuild them, read them; the dashboard
snapshot is added by ``bench``)."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, TypedDict

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


class Views(TypedDict):
    """What ``riskloop ops views`` read (its ``--json`` object)."""

    prefix: str
    day: str
    tasks_by_state: dict[str, int]
    open_tasks: dict[str, int]
    warnings: dict[str, int]
    briefs: list[dict[str, Any]]


@app.command("views")
def views(
    day: Annotated[
        str | None, typer.Option(help="the day's warnings, YYYY-MM-DD (default: today)")
    ] = None,
    prefix: Annotated[str, typer.Option(help="the views' key prefix")] = "riskloop:",
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """What Redis's live views hold, as the dashboards read them: tasks per state, open tasks
    per department, and one day's warnings per level with each warning's brief (the regulators'
    day). To check a view against ``riskloop tasks list`` / ``alerts`` (the SQL store) after
    an outage, or after ``rebuild-views``."""
    import asyncio
    from datetime import UTC, datetime, time

    from sinks.redis_views import RedisViews

    s = settings()
    try:
        on = date.fromisoformat(day) if day is not None else None
    except ValueError:
        raise typer.BadParameter(f"{day!r} is not a day (YYYY-MM-DD)", param_hint="--day") from None

    async def read() -> Views:
        redis = RedisViews.from_settings(s, name="redis-read", prefix=prefix)
        try:
            when = datetime.combine(on, time(12), tzinfo=redis.tz) if on else datetime.now(UTC)
            briefs = await redis.warnings_on(when)
            return {
                "prefix": redis.prefix,
                "day": f"{when.astimezone(redis.tz):%Y-%m-%d}",
                "tasks_by_state": await redis.tasks_by_state(),
                "open_tasks": await redis.open_counts(),
                "warnings": await redis.warnings_today(when),
                "briefs": sorted(briefs, key=lambda b: (str(b.get("last_seen")), b["alert_id"])),
            }
        finally:
            await redis.client.aclose()  # type: ignore[attr-defined]  # stubs predate aclose

    shown = asyncio.run(read())
    if as_json:
        typer.echo(json.dumps(shown, ensure_ascii=False, default=str))
        return
    console.print(f"Redis views ({shown['prefix']}…) · day {shown['day']}", markup=False)
    for title, counts in (
        ("tasks by state", shown["tasks_by_state"]),
        ("open tasks", shown["open_tasks"]),
        ("warnings", shown["warnings"]),
    ):
        line = " · ".join(f"{k} {n}" for k, n in counts.items()) or "none"
        console.print(f"{title}: {line}", markup=False)
    for b in shown["briefs"]:
        who = " · ".join(x for x in (b.get("entity_name"), b.get("entity_address")) if x)
        console.print(
            f"  {b['level']:<6} {b['alert_id']}  {who or b['entity']}  {b['source']} "
            f"{b['state']}  last seen {b['last_seen']}",
            markup=False,
        )
