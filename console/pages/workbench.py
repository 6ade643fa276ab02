"""我的任务 — the department's task workbench, the risk centre's extension desk, a task's story.

Everything here is asked of, and sent to, the worker's API with the person's own token
(``console.backend``): the worker decides who sees which task and whether an action applies,
and audits it; this page only shows what it answers. A refusal — another department's task
(403), no such task (404), a task that moved on (409), a form the state machine will not take
(422: no evidence, no reason, an extension into the past, a category not in the taxonomy) — is shown on the page in the
worker's words and changes nothing. Evidence files are kept in the evidence store first
(``sinks.evidence``) and the disposition carries only their ``sha256:`` references; a refused
file (an executable, too large) stops the disposal before anything is sent. A disposal of a
task about a complaint may correct the complaint's category (a taxonomy category to choose,
``schemas.categories``), which the worker teaches the complaint classifier.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web

from console.auth import require, see_other
from console.backend import BackendError, backend, segment
from console.keys import GATE, SETTINGS
from console.render import render
from loop.countdown import countdown
from loop.deadlines import default_calendar
from loop.jurisdiction import Permission, is_centre
from schemas.categories import categories
from schemas.evidence import EVIDENCE_FILES_MAX, EvidenceRef, EvidenceRefused
from sinks.errors import SinkError
from sinks.evidence import EvidenceStore

ACTIONS = {
    "sign": "签收",
    "return": "退单",
    "start": "开始办理",
    "dispose": "办结反馈",
    "extend": "申请延期",
    "grant_extension": "批准延期",
    "refuse_extension": "驳回延期",
}
"""The actions the workbench offers, and their names on the page."""
STATES = {
    "created": "已创建",
    "dispatched": "待签收",
    "signed": "已签收",
    "returned": "已退单",
    "arbitration": "仲裁中",
    "in_progress": "办理中",
    "disposed": "已办结",
    "closed": "已结案",
    "reopened": "重新打开",
}
RESULTS = {
    "confirmed": "属实已处置",
    "rectification": "责令整改",
    "false_alarm": "不属实",
    "not_found": "查无此事",
}
MARKS = {"reminder": "催办", "supervision": "督办", "notice": "通报"}
WARNING_STATES = {
    "new": "新预警",
    "updated": "已更新",
    "escalated": "已升级",
    "deescalated": "已降级",
    "suppressed": "已抑制",
    "silenced": "已静默",
    "resolved": "已解除",
    "false_alarm": "误报",
}
SIGN_PHASE = frozenset({"dispatched", "reopened"})
DONE = frozenset({"disposed", "closed"})
STORIES = 30
"""Open tasks whose 催办/督办 marks the list fetches (one story each, in parallel)."""


def routes() -> list[web.RouteDef]:
    """``/workbench`` (我的任务), one task's story, the actions on it, and its evidence
    files.
    """
    return [
        web.get("/workbench", workbench),
        web.get("/workbench/tasks/{task_id}", task_page),
        web.post("/workbench/tasks/{task_id}", act),
        web.get("/workbench/tasks/{task_id}/evidence/{sha256}", evidence_file),
    ]


# ---------------------------------------------------------------- 我的任务


async def workbench(request: web.Request) -> web.Response:
    """The person's department's open tasks, nearest deadline first; for the risk centre, every
    department's and the extension requests waiting for a decision."""
    who = require(request, Permission.read)
    centre = is_centre(who, request.app[GATE].centre)
    try:
        listed = await backend(request).get(request, "/api/tasks", {"limit": "500"})
    except BackendError as exc:
        return render(
            request,
            "workbench.html",
            status=exc.status,
            error=exc.message,
            rows=[],
            requests=[],
            centre=centre,
        )
    tasks = [t for t in listed["tasks"] if t["state"] != "closed"]
    marks = await _marks(request, [t["task_id"] for t in tasks if t["state"] not in DONE])
    now = datetime.now().astimezone()
    rows = sorted(
        (_row(t, now, marks.get(t["task_id"], [])) for t in tasks),
        key=lambda r: (r["done"], r["due"]),
    )
    waiting = [r for r in rows if r["task"].get("extension_to")]
    return render(
        request, "workbench.html", rows=rows, requests=waiting if centre else [], centre=centre
    )


async def _marks(request: web.Request, task_ids: list[str]) -> dict[str, list[str]]:
    """催办/督办/通报 raised on each task (from its story); a story that fails shows none."""
    client = backend(request)

    async def one(task_id: str) -> tuple[str, list[str]]:
        try:
            story = await client.get(request, f"/api/tasks/{segment(task_id)}")
        except BackendError:
            return task_id, []
        kinds = [s["kind"] for s in story.get("supervision", [])]
        return task_id, [MARKS[k] for k in MARKS if k in kinds]

    return dict(await asyncio.gather(*(one(t) for t in task_ids[:STORIES])))


def _row(task: dict[str, Any], now: datetime, marks: list[str]) -> dict[str, Any]:
    """One line of the list: the deadline that runs now and its working-day countdown."""
    signing = task["state"] in SIGN_PHASE
    due = datetime.fromisoformat(task["sign_deadline" if signing else "dispose_deadline"])
    done = task["state"] in DONE
    left = countdown(now, due, default_calendar())
    return {
        "task": task,
        "due": due,
        "phase": "签收" if signing else "办结",
        "done": done,
        "countdown": "—" if done else left.text,
        "overdue": left.overdue and not done,
        "marks": marks,
        "state": STATES.get(task["state"], task["state"]),
    }


# ---------------------------------------------------------------- one task


async def task_page(request: web.Request) -> web.Response:
    """``/workbench/tasks/{task_id}``: the task's story and what the person may do
    with it now.
    """
    require(request, Permission.read)
    return await _show(request, request.match_info["task_id"])


async def _show(
    request: web.Request, task_id: str, *, error: str | None = None, status: int = 200
) -> web.Response:
    """The whole story of a task (全程留痕) and what the person may do with it now."""
    try:
        story = await backend(request).get(request, f"/api/tasks/{segment(task_id)}")
    except BackendError as exc:
        return render(
            request, "problem.html", status=exc.status, title="无法查看该任务", reason=exc.message
        )
    task = story.get("task")
    if task is None:
        return render(
            request,
            "problem.html",
            status=404,
            title="无法查看该任务",
            reason="任务库中还没有这项任务的当前记录",
        )
    who = request["person"]
    centre = is_centre(who, request.app[GATE].centre)
    own = who.department == task["department"]
    warning = await _warning(request, task["alert_id"])
    done, after = request.query.get("done"), request.query.get("state")
    notice = None
    if done in ACTIONS:  # the worker applied it; the store may be a few seconds behind
        notice = f"{ACTIONS[done]}：工作进程已受理"
        if after in STATES and after != task["state"]:
            notice += f"，任务现为「{STATES[after]}」（任务记录与留痕数秒内更新）"
    now = datetime.now().astimezone()
    return render(
        request,
        "task.html",
        status=status,
        error=error,
        notice=notice,
        task=task,
        row=_row(task, now, []),
        story=story,
        warning=warning,
        own=own,
        centre=centre,
        evidence=[(ref, EvidenceRef.parse(ref)) for ref in task.get("evidence", [])],
        states=STATES,
        results=RESULTS,
        marks=MARKS,
        warning_states=WARNING_STATES,
        categories=categories(),
    )


async def _warning(request: web.Request, alert_id: str) -> dict[str, Any] | None:
    """The task's warning as this person may see it (None: not theirs to see, or not stored)."""
    try:
        found = await backend(request).get(request, f"/api/warnings/{segment(alert_id)}")
    except BackendError:
        return None
    warning = found.get("warning") if isinstance(found, dict) else None
    return warning if isinstance(warning, dict) else None


async def act(request: web.Request) -> web.Response:
    """Send one action to the worker as this person; its verdict is shown on the task page."""
    require(request, Permission.dispose)
    task_id = request.match_info["task_id"]
    form = await request.post()
    action = str(form.get("action", ""))
    if action not in ACTIONS:
        return await _show(request, task_id, error="未知的操作", status=422)
    body: dict[str, Any] = {"action": action}
    reason = str(form.get("reason", "")).strip()
    if action not in {"sign", "start"}:
        body["reason"] = reason
    if action == "extend":
        body["extend_to"] = str(form.get("extend_to", "")).strip() or None
    if action == "dispose":
        body["result"] = str(form.get("result", "")) or None
        body["category"] = str(form.get("category", "")).strip() or None
        try:
            body["evidence"] = await _store_evidence(request, form.getall("evidence", []))
        except (EvidenceRefused, SinkError) as exc:
            return await _show(request, task_id, error=f"证据文件未接收：{exc}", status=422)
    try:
        answer = await backend(request).post(
            request, f"/api/tasks/{segment(task_id)}/dispositions", body
        )
    except BackendError as exc:
        return await _show(request, task_id, error=exc.message, status=exc.status)
    if answer.get("verdict") is None:  # 202: sent, no verdict in time
        return await _show(
            request, task_id, error="已发送，但工作进程未及时答复；请稍后刷新查看是否已生效"
        )
    state = (answer.get("verdict") or {}).get("state") or ""
    return see_other(f"/workbench/tasks/{quote(task_id, safe='')}?done={action}&state={state}")


async def _store_evidence(request: web.Request, fields: list[Any]) -> list[str]:
    """Keep the uploaded files; their references (none chosen: an empty list, which the worker
    refuses as a disposal without evidence)."""
    files = [f for f in fields if isinstance(f, web.FileField) and f.filename]
    if len(files) > EVIDENCE_FILES_MAX:
        raise EvidenceRefused(f"一次最多上传 {EVIDENCE_FILES_MAX} 个证据文件")
    store = EvidenceStore.from_settings(request.app[SETTINGS])
    refs = []
    for f in files:
        data = await asyncio.to_thread(f.file.read, store.max_bytes + 1)
        refs.append(str(await asyncio.to_thread(store.put, f.filename, data)))
    return refs


async def evidence_file(request: web.Request) -> web.StreamResponse:
    """An evidence file of a task the person may see, only if that task names it."""
    require(request, Permission.read)
    task_id, sha256 = request.match_info["task_id"], request.match_info["sha256"]
    try:
        story = await backend(request).get(request, f"/api/tasks/{segment(task_id)}")
    except BackendError as exc:
        return render(
            request, "problem.html", status=exc.status, title="无法查看该证据", reason=exc.message
        )
    named = {
        r.sha256
        for ref in (story.get("task") or {}).get("evidence", [])
        if (r := EvidenceRef.parse(ref)) is not None
    }
    if sha256 not in named:
        return render(
            request,
            "problem.html",
            status=404,
            title="无法查看该证据",
            reason="该任务没有这个证据文件",
        )
    store = EvidenceStore.from_settings(request.app[SETTINGS])
    try:
        stored = await asyncio.to_thread(store.get, sha256)
    except SinkError as exc:
        return render(request, "problem.html", status=404, title="无法查看该证据", reason=str(exc))
    return web.Response(
        body=stored.data,
        content_type=stored.media_type,
        headers={
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, max-age=3600",
        },
    )
