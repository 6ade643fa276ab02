"""``/``: who is logged in, what waits for them (我的待办), and what they may open.

The front page answers what a handler or a member of the risk centre asks first: how many of
my tasks wait to be signed for, are in hand, are due within a day or overdue, which ones race
their deadline soonest, and which red and orange warnings of my regions are live. The numbers
are the worker's tasks and warnings as the person may see them (asked with their token, as
the wall asks; tallied by ``loop.situation.desk``). A worker that is away is a message on the
page, not an empty desk.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from console.backend import BackendError, picture
from console.render import render
from loop.countdown import countdown
from loop.deadlines import default_calendar
from loop.situation import Desk, desk
from loop.supervision import phase


async def home(request: web.Request) -> web.Response:
    """``/``: the person, their desk and the pages their permissions open."""
    try:
        alerts, tasks = await picture(request)
    except BackendError as exc:
        return render(request, "home.html", desk=None, rows=[], error=exc.message)
    now = datetime.now(UTC)
    mine = desk(tasks, alerts, now)
    return render(request, "home.html", desk=mine, rows=_rows(mine, now), error=None)


def _rows(mine: Desk, now: datetime) -> list[dict[str, object]]:
    """The tasks racing their deadlines soonest, each with the deadline's working-day
    countdown (the workbench's own words)."""
    calendar = default_calendar()
    return [
        {
            "task": task,
            "due": due,
            "phase": "签收" if phase(task) == "sign" else "办结",
            "countdown": countdown(now, due, calendar),
        }
        for task, due in mine.next_tasks
    ]


def routes() -> list[web.RouteDef]:
    """``/``: the front door."""
    return [web.get("/", home)]
