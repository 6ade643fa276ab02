"""``/situation`` (大屏): the live picture of what a person's jurisdiction holds.

The numbers are the worker's warnings and tasks as the person may see them (asked with their
token, tallied by ``loop.situation``); the panels refresh when the wall learns of a new red or
orange warning (debounced) and once a minute for deadlines passing. New red and orange warnings
arrive as Server-Sent Events (``/situation/stream``) from the console's one alerts consumer
(``console.live``), filtered by the person's regions: no browser polls for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from console.auth import require, token_expiry
from console.backend import LIMIT, BackendError, picture
from console.keys import LIVE
from console.render import render
from loop.jurisdiction import Permission
from loop.situation import LIVE_LEVELS, tally, task_load, trend

HEARTBEAT_SECONDS = 15


async def page(request: web.Request) -> web.Response:
    """``/situation`` (大屏): the page shell; its panels and live stream arrive by htmx
    and Server-Sent Events.
    """
    require(request, Permission.read)
    return render(request, "situation.html")


async def panels(request: web.Request) -> web.Response:
    """The counts, the task load and the trend, as a fragment htmx swaps in."""
    require(request, Permission.read)
    values: dict[str, Any] = {"error": None}
    try:
        alerts, tasks = await picture(request)
    except BackendError as exc:
        return render(request, "situation_panels.html", error=exc.message)
    now = datetime.now(UTC)
    live = [
        a
        for a in alerts
        if a.level in LIVE_LEVELS and a.state.value not in {"resolved", "false_alarm"}
    ]
    values.update(
        tally=tally(alerts),
        load=task_load(tasks, now),
        trend=trend(alerts, now),
        latest=live[:10],
        capped=len(alerts) >= LIMIT,
        updated=now,
    )
    return render(request, "situation_panels.html", **values)


async def stream(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: each new red/orange warning the person may see, until their token
    expires (the browser then reconnects, is sent to /login) or the console stops."""
    who = require(request, Permission.read)
    feed = request.app[LIVE]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    sub = feed.subscribe(who)
    ends = token_expiry(request["token"])
    quiet = 0.0
    try:
        await response.write(b"retry: 3000\n: connected\n\n")
        while time.time() < ends and not feed.closing.is_set():
            try:
                item = await asyncio.wait_for(sub.queue.get(), timeout=1.0)
            except TimeoutError:
                quiet += 1.0
                if quiet >= HEARTBEAT_SECONDS:
                    await response.write(b": keep-alive\n\n")
                    quiet = 0.0
                continue
            quiet = 0.0
            data = json.dumps(item, ensure_ascii=False)
            await response.write(f"event: warning\ndata: {data}\n\n".encode())
    except (ConnectionResetError, ConnectionError):
        pass  # the wall went away
    finally:
        feed.unsubscribe(sub)
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response


def routes() -> list[web.RouteDef]:
    """``/situation``, its panels fragment and its live stream of new red and orange
    warnings.
    """
    return [
        web.get("/situation", page),
        web.get("/situation/panels", panels),
        web.get("/situation/stream", stream),
    ]
