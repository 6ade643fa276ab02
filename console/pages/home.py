"""``/``: who is logged in and what they may open (the console's front door)."""

from __future__ import annotations

from aiohttp import web

from console.render import render


async def home(request: web.Request) -> web.Response:
    """``/``: who is logged in and the pages their permissions open."""
    return render(request, "home.html")


def routes() -> list[web.RouteDef]:
    """``/``: the front door."""
    return [web.get("/", home)]
