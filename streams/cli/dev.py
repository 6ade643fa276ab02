"""``riskloop dev up|down|status``: the local Kafka, Redis and PostgreSQL of this checkout."""

from __future__ import annotations

from typing import Annotated

import typer

from infra import stack
from streams.cli.common import console, settings

app = typer.Typer(
    help="Start, stop and inspect the local infrastructure (Kafka, Redis, PostgreSQL).",
    no_args_is_help=True,
)

Services = Annotated[
    list[str] | None, typer.Argument(help="services (default: all): kafka redis postgres")
]


@app.command()
def up(services: Services = None) -> None:
    """Start the services (idempotent; recovers after a crash) and wait until they answer."""
    for line in stack.up(settings().dev, services):
        console.print(line)


@app.command()
def down(services: Services = None) -> None:
    """Stop the services this checkout started (by pid file); nothing else is touched."""
    for line in stack.down(settings().dev, services):
        console.print(line)


@app.command()
def status() -> None:
    """Show each service's state; exit 1 if any is not healthy."""
    healthy = True
    for name, (ok, text) in stack.status(settings().dev).items():
        healthy &= ok
        console.print(f"{name:<9} {'healthy' if ok else 'DOWN':<8} {text}")
    if not healthy:
        raise typer.Exit(1)
