"""The offline tools' PNG figures: a trajectory with its fences (``riskloop geo map``) and a
model's score against its labels (``riskloop models evaluate --plot``).

Drawing is the tools' work, not the worker's: matplotlib is imported here only, so neither the
worker nor the pure core (``geo/``, ``models/``) loads it (``tests/unit/test_layers.py``).

The map is for an operator checking a fence set against a real drive, and for a disposal task's
evidence: where the truck went, which fences it met, where each detection fired. Axes are
WGS-84 lon/lat with the aspect corrected for latitude; no basemap (no network needed).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt

from models.evaluation import Trace, windows

if TYPE_CHECKING:
    from collections.abc import Sequence

    from shapely.geometry.base import BaseGeometry

    from geo.detection import Detection
    from geo.fence_sets import CompiledFenceSet
    from schemas.records import TruckFix

FENCE_COLOURS = {
    "disposal_site": "#2ca02c",
    "construction_site": "#1f77b4",
    "forbidden_zone": "#d62728",
    "speed_zone": "#ff7f0e",
    "route": "#9467bd",
}
DETECTION_MARKERS = {
    "fence_enter": ("^", "#555555"),
    "fence_exit": ("v", "#555555"),
    "fence_dwell": ("s", "#555555"),
    "overspeed": ("P", "#ff7f0e"),
    "suspected_dumping": ("X", "#8c564b"),
    "route_deviation": ("D", "#9467bd"),
    "banned_zone": ("*", "#d62728"),
    "banned_hours": ("*", "#e377c2"),
    "silent": ("o", "#7f7f7f"),
}


def _draw_geometry(ax: plt.Axes, geom: BaseGeometry, colour: str, route_width: float) -> None:
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        for poly in getattr(geom, "geoms", [geom]):
            x, y = poly.exterior.xy
            ax.fill(x, y, color=colour, alpha=0.18, linewidth=0)
            ax.plot(x, y, color=colour, linewidth=1.0)
    else:
        for line in getattr(geom, "geoms", [geom]):
            x, y = line.xy
            ax.plot(x, y, color=colour, linewidth=route_width, alpha=0.35, solid_capstyle="round")


def plot_trajectory(
    fixes: Sequence[TruckFix],
    fences: CompiledFenceSet,
    detections: Sequence[Detection],
    out: str | Path,
    *,
    title: str = "",
) -> Path:
    """Draw fences, the fixes as a line, and a marker per detection; write a PNG to ``out``."""
    fig, ax = plt.subplots(figsize=(10, 10), dpi=100)
    try:
        for fence in fences.fences:
            colour = FENCE_COLOURS.get(fence.kind, "#333333")
            _draw_geometry(ax, fence.geometry, colour, route_width=6.0)
            c = fence.geometry.representative_point()
            ax.annotate(fence.id, (c.x, c.y), fontsize=7, color=colour)
        if fixes:
            ax.plot(
                [f.lon for f in fixes],
                [f.lat for f in fixes],
                "-",
                color="black",
                linewidth=0.8,
                marker=".",
                markersize=2,
                label="fixes",
            )
            mid_lat = sum(f.lat for f in fixes) / len(fixes)
            ax.set_aspect(1.0 / max(math.cos(math.radians(mid_lat)), 1e-6))
        seen: set[str] = set()
        for d in detections:
            marker, colour = DETECTION_MARKERS[d.kind]
            label = d.kind if d.kind not in seen else None
            seen.add(d.kind)
            ax.scatter([d.lon], [d.lat], marker=marker, color=colour, s=80, zorder=5, label=label)
        ax.set_xlabel("longitude (WGS-84)")
        ax.set_ylabel("latitude (WGS-84)")
        ax.set_title(
            title
            or f"{fences.name} v{fences.version}: {len(fixes)} fixes, {len(detections)} detections"
        )
        ax.legend(loc="best", fontsize=8)
        path = Path(out)
        fig.savefig(path, format="png", bbox_inches="tight")
        return path
    finally:
        plt.close(fig)


def plot_trace(path: Path, trace: Trace, title: str, max_points: int = 20_000) -> Path:
    """Score, threshold and label over the event index, as a PNG (matplotlib Agg)."""
    n = min(len(trace.scores), max_points)
    xs = range(n)
    fig, ax = plt.subplots(figsize=(12, 4))
    finite = [s for s in trace.scores[:n] if math.isfinite(s)]
    top = max(finite) * 1.5 if finite and max(finite) > 0 else 1.0
    for start, end in windows([bool(y) for y in trace.truth[:n]]):
        ax.axvspan(start, end, color="tab:red", alpha=0.15, lw=0, label=None)
    ax.plot(xs, trace.scores[:n], lw=0.7, label="score")
    ax.plot(xs, trace.thresholds[:n], lw=0.7, label="threshold")
    alerts = [i for i in xs if trace.alerts[i]]
    ax.scatter(alerts, [top] * len(alerts), s=2, color="black", label="alert")
    ax.set_yscale("symlog", linthresh=1.0)  # anomaly scores span orders of magnitude
    ax.set_title(title)
    ax.set_xlabel("event")
    ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
