"""``/map`` (地图): trucks, tracks, fences, detections and elevators on an offline base.

The page is static HTML plus ``/static/map.js`` (Leaflet, vendored; no tile layer: the base is
the district outlines shipped in ``/static/map/``); the layers come from ``/map/data.json``,
which the script asks for every few seconds. What a person sees is filtered like the worker's
API: the risk centre everything; anyone else the trucks and warnings of their own regions (a
fix or warning without a region is the centre's alone, as in ``loop.jurisdiction``).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from aiohttp import web

from console.auth import require
from console.keys import GATE, SETTINGS
from console.map import layers
from console.map.feed import MapFeed
from console.map.fencesets import shipped
from console.map.window import MapWindow
from console.render import render
from loop.identity import Principal, covers
from loop.jurisdiction import Permission, is_centre

FEED = web.AppKey("map_feed", MapFeed)
DISTRICTS = Path(__file__).parents[1] / "static" / "map" / "districts.geojson"


async def page(request: web.Request) -> web.Response:
    """``/map``: the page only; the script fetches ``/map/data.json``, filtered by the
    person's regions.
    """
    require(request, Permission.read)
    return render(request, "map.html")


async def data(request: web.Request) -> web.Response:
    """Every layer as GeoJSON, with the bounds to show and what could not be placed."""
    who = require(request, Permission.read)
    window = _visible(request.app[FEED].window, who, request.app[GATE].centre)
    trucks = layers.trucks(window)
    detections = layers.detections(window)
    equipment, unplaced = layers.equipment(window, _districts())
    fences = layers.fences(_fences())
    body = {
        "trucks": trucks,
        "detections": detections,
        "equipment": equipment,
        "equipment_unplaced": unplaced,
        "fences": fences,
        "bounds": layers.bounds(trucks, detections) or layers.bounds(fences),
    }
    return web.json_response(body, dumps=lambda v: json.dumps(v, ensure_ascii=False))


def _visible(window: MapWindow, who: Principal, centre: str) -> MapWindow:
    """The part of the window ``who`` may see (the whole of it for the risk centre)."""
    if is_centre(who, centre):
        return window
    mine = MapWindow(
        max_trucks=window.max_trucks,
        max_fixes=window.max_fixes,
        max_age=window.max_age,
        max_warnings=window.max_warnings,
    )
    for plate in window.plates():
        for fix in window.track(plate):
            if fix.region_code and covers(who.regions, fix.region_code):
                mine.add_fix(fix)
    for alert in window.warnings():
        if alert.region_code and covers(who.regions, alert.region_code):
            mine.add_warning(alert)
    return mine


@cache
def _districts() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DISTRICTS.read_text("utf-8"))
    return loaded


@cache
def _fences() -> tuple[dict[str, Any], ...]:
    return tuple(shipped())


def setup(app: web.Application) -> None:
    """The map's one Kafka consumer, started and stopped with the console."""
    app[FEED] = MapFeed(settings=app[SETTINGS], window=MapWindow())

    async def start(app: web.Application) -> None:
        app[FEED].start()

    async def stop(app: web.Application) -> None:
        await app[FEED].stop()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)


def routes() -> list[web.RouteDef]:
    """``/map`` and the layers it draws, ``/map/data.json``."""
    return [web.get("/map", page), web.get("/map/data.json", data)]
