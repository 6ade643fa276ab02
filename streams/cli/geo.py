"""``riskloop geo``: the group, and ``validate`` of a fence set.

``validate`` is offline (no Kafka): what an operator runs before ``riskloop geo publish``
(``control``, it needs Kafka). ``map`` reads a trajectory file and draws, which is the tools'
work: it is a plug-in from ``bench/`` (``bench/cli_geo.py``, entry point ``geo`` in
pyproject.toml), added to this group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from schemas.errors import RiskLoopError

app = typer.Typer(help="Muck-truck geofences: validate fence sets, map trajectories.")
console = Console()


@app.command()
def validate(fenceset: Annotated[Path, typer.Argument(help="a .geojson fence set")]) -> None:
    """Validate and compile a fence set; print its version, hash and fences per kind."""
    from geo.fence_sets import load_fence_set

    try:
        fs = load_fence_set(fenceset)
    except RiskLoopError as exc:
        console.print(f"[red]invalid:[/red] {exc}")
        raise typer.Exit(1) from exc
    kinds = ", ".join(f"{k} {n}" for k, n in fs.kinds().items())
    console.print(
        f"[green]ok[/green] {fs.name} v{fs.version} ({fs.crs} → WGS84), "
        f"{len(fs.fences)} fences: {kinds}; sha256 {fs.content_hash[:16]}"
    )
