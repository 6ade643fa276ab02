"""``/enterprises/{uscc}`` (一企一档): one enterprise's profile, risk score and why, timeline and
open items, as the worker gives them to the person asking.

The profile is the worker's (``GET /api/entities/{uscc}/profile``); the score's reasons are its
recent entries decayed to now (``loop.profile.reasons``); open items are the person's visible
warnings and tasks of this enterprise that have not ended.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from console.auth import require, see_other
from console.backend import BackendError, backend, segment
from console.forms import FormError, Uscc, parse
from console.keys import LOOP
from console.render import render
from loop.jurisdiction import Permission
from loop.profile import EntityProfile, reasons, score_at
from loop.situation import ENDED
from loop.supervision import phase
from schemas.records import Alert, Task

KINDS = {
    "inspection_pass": "检查合格",
    "inspection_fail": "检查不合格",
    "inspection_rectify": "责令整改",
    "complaint": "投诉举报",
    "warning_blue": "蓝色预警",
    "warning_yellow": "黄色预警",
    "warning_orange": "橙色预警",
    "warning_red": "红色预警",
    "task": "核查任务",
    "disposition_confirmed": "核查属实",
    "disposition_rectification": "责令整改（处置）",
    "disposition_false_alarm": "误报",
    "disposition_not_found": "未发现问题",
}


class EnterpriseQuery(BaseModel):
    """The one thing an enterprise page is asked for: a valid USCC, checked before the
    worker is asked, so a typo gets the format rule instead of a 404.
    """

    uscc: Uscc


async def search(request: web.Request) -> web.StreamResponse:
    """``/enterprises?uscc=…``: go to that enterprise's file, or say what is wrong."""
    require(request, Permission.read)
    if "uscc" not in request.query:
        return render(request, "enterprise_search.html", query="")
    try:
        q: EnterpriseQuery = parse(EnterpriseQuery, {"uscc": request.query["uscc"].strip().upper()})
    except FormError as exc:
        return render(
            request,
            "enterprise_search.html",
            status=400,
            query=request.query["uscc"],
            error=f"无法查询：{exc}（18位，不含 I、O、S、V、Z）",
        )
    return see_other(f"/enterprises/{segment(q.uscc)}")


async def page(request: web.Request) -> web.Response:
    """``/enterprises/{uscc}`` (一企一档): the enterprise's profile with its score and why,
    its open warnings and tasks and its timeline. Each part that the worker cannot answer is named
    on the page; the rest still shows.
    """
    require(request, Permission.read)
    uscc = request.match_info["uscc"]
    try:
        parse(EnterpriseQuery, {"uscc": uscc})
    except FormError as exc:
        return render(
            request, "enterprise_search.html", status=400, query=uscc, error=f"无法查询：{exc}"
        )
    values: dict[str, Any] = {
        "uscc": uscc,
        "profile": None,
        "why": [],
        "score": None,
        "warnings": [],
        "tasks": [],
        "kinds": KINDS,
    }
    problems = []
    now = datetime.now(UTC)
    config = request.app[LOOP].profile
    try:
        raw = await backend(request).get(request, f"/api/entities/{segment(uscc)}/profile")
        profile = EntityProfile.model_validate(raw)
        values.update(
            profile=profile,
            score=score_at(profile, now, config),
            why=reasons(profile, now, config),
            timeline=sorted(profile.recent, key=lambda e: e.at, reverse=True),
        )
    except BackendError as exc:
        problems.append("尚无该企业的档案" if exc.status == 404 else exc.message)
    try:
        listed = await backend(request).get(request, "/api/warnings", {"limit": "1000"})
        alerts = [Alert.model_validate(a) for a in listed["warnings"]]
        values["warnings"] = [
            a for a in alerts if uscc in (a.uscc, a.entity) and a.state.value not in ENDED
        ]
        tasked = await backend(request).get(request, "/api/tasks", {"limit": "1000"})
        tasks = [Task.model_validate(t) for t in tasked["tasks"]]
        values["tasks"] = [t for t in tasks if uscc in (t.uscc, t.entity) and phase(t)]
    except BackendError as exc:
        problems.append(exc.message)
    values.setdefault("timeline", [])
    return render(request, "enterprise.html", error="；".join(problems) or None, **values)


def routes() -> list[web.RouteDef]:
    """``/enterprises``: the USCC search and one enterprise's file."""
    return [web.get("/enterprises", search), web.get("/enterprises/{uscc}", page)]
