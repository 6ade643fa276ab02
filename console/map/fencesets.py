"""The fence sets the map draws: the shipped ones (``config/geofences``), each checked by the
worker's own compiler first, so the map never draws a set a worker would refuse.

A set published later with ``riskloop geo publish`` reaches the workers on control.geofences;
the map still draws the shipped version (see the README's "Map").
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from config.settings import PROJECT_ROOT
from geo.fence_sets import load_fence_set

if TYPE_CHECKING:
    from pathlib import Path

SHIPPED = PROJECT_ROOT / "config" / "geofences"


def shipped(folder: Path = SHIPPED) -> list[dict[str, Any]]:
    """Every valid fence-set document of ``folder``, by file name."""
    out: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.geojson")):
        load_fence_set(path)  # raises ConfigError on a set the worker would refuse
        out.append(json.loads(path.read_text("utf-8")))
    return out
