"""``riskloop geo``: check a fence set and map a trajectory against it.

Both commands are offline (no Kafka): ``validate`` is what an operator runs before
``riskloop geo publish`` (the lead's, it needs Kafka), ``map`` replays a recorded trajectory
through the same pure detections the worker runs and draws the result.
"""

from __future__ import annotations

import collections
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
    from geo.fences import load_fence_set

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


@app.command("map")
def map_(
    *,
    trajectory: Annotated[Path, typer.Option(help="GPS CSV: lat, lon, ts, vehicle_id")],
    fences: Annotated[Path, typer.Option(help="a .geojson fence set")],
    out: Annotated[Path, typer.Option(help="PNG to write")],
    vehicle: Annotated[str | None, typer.Option(help="only this vehicle_id")] = None,
    permit: Annotated[str | None, typer.Option(help="permit id given to every fix")] = None,
    loaded: Annotated[
        bool | None, typer.Option("--loaded/--empty", help="load state of every fix")
    ] = None,
) -> None:
    """Replay a trajectory through the detections and draw fences, fixes and detections."""
    from geo.fences import load_fence_set
    from geo.plot import plot_trajectory
    from geo.replay import load_trajectory, replay

    try:
        fs = load_fence_set(fences)
        fixes = load_trajectory(trajectory, vehicle=vehicle, permit_id=permit, loaded=loaded)
    except RiskLoopError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    if not fixes:
        console.print(f"[red]error:[/red] no fixes{f' for vehicle {vehicle!r}' if vehicle else ''}")
        raise typer.Exit(1)
    _, detections = replay(fixes, fs)
    plot_trajectory(fixes, fs, detections, out)
    counts = collections.Counter(d.kind for d in detections)
    summary = ", ".join(f"{k} {n}" for k, n in sorted(counts.items())) or "none"
    console.print(f"wrote {out}: {len(fixes)} fixes, detections: {summary}")
