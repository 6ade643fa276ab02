"""``riskloop geo map``: replay a recorded trajectory through the detections and draw it.

A plug-in of the CLI (pyproject.toml, ``riskloop.commands``: ``geo``), added to the
``riskloop geo`` group that ``streams/cli/geo.py`` defines: it reads a GPS file
(``bench/trajectories.py``) and draws with matplotlib (``bench/plots.py``), which is the tools'
work, and ``streams/`` never imports ``bench/``. Offline (no Kafka): the same pure detections
the worker runs (``geo/trajectory_run.py``).
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Annotated

import typer

from schemas.errors import RiskLoopError
from streams.cli.geo import console


def register(root: typer.Typer) -> None:
    """Add ``map`` to ``riskloop geo`` (loaded before this plug-in)."""
    from streams.cli.geo import app as geo

    geo.command("map")(map_)


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
    from bench.plots import plot_trajectory
    from bench.trajectories import load_trajectory
    from geo.fence_sets import load_fence_set
    from geo.trajectory_run import replay

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
