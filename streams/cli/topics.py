"""``riskloop topics create|list``: RiskLoop's topics on the configured broker."""

from __future__ import annotations

from typing import Annotated

import typer

from streams.admin import create_topics, list_topics
from streams.cli.common import console, settings

app = typer.Typer(help="Create and list RiskLoop's Kafka topics.", no_args_is_help=True)


@app.command()
def create(
    department: Annotated[
        list[str] | None,
        typer.Option("--department", "-d", help="also create tasks.<department> (repeatable)"),
    ] = None,
) -> None:
    """Create every topic with the partition counts from settings (idempotent)."""
    created, existing = create_topics(settings(), departments=department or [])
    for name in created:
        console.print(f"created  {name}")
    console.print(f"{len(created)} created, {len(existing)} already existed")


@app.command("list")
def list_() -> None:
    """List the broker's topics with their partition counts."""
    for name, partitions in sorted(list_topics(settings()).items()):
        console.print(f"{name:<40} {partitions}")
