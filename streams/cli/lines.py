"""One readable line per notified warning change or dispatched task (``alerts tail``, the demo).

Only records a person should look at are printed: the worker marks each alert change with
``notify`` (``loop.warnings.notice``, Alertmanager's group/repeat intervals), and an ``updated``
line says what changed. Times are Beijing time with the offset shown (staff read a bare time as
Beijing time, and a bare UTC time was read wrong); ids are printed whole, so a task id from the
tail can be pasted into ``riskloop tasks show``.

>>> alert_line({"level": "yellow", "state": "updated", "title": "电梯监测终端离线",
...             "entity": "E1", "alert_id": "f.1", "notify": False})
>>> alert_line({"level": "yellow", "state": "updated", "title": "电梯监测终端离线",
...             "entity": "E1", "alert_id": "f.1", "changes": ["occurrences 1→5"]})
'YELLOW updated    电梯监测终端离线 · E1 · f.1 · occurrences 1→5'
>>> alert_line({"level": "red", "state": "new", "title": "疑似食物中毒", "entity": "9133",
...             "alert_id": "f.1", "entity_name": "某某餐饮店", "entity_address": "文三路1号"})
'RED    new        疑似食物中毒 · 9133 某某餐饮店（文三路1号） · f.1'
>>> beijing("2026-11-21T03:55:00+00:00")
'2026-11-21 11:55+08:00'
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Asia/Shanghai")


def beijing(value: str | datetime | None) -> str:
    """An instant as Beijing time with its offset; text that is not a time is returned as is."""
    if value is None or value == "":
        return ""
    try:
        at = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    except ValueError:
        return str(value)
    if at.tzinfo is None:
        return f"{at:%Y-%m-%d %H:%M} UTC"
    local = at.astimezone(ZONE)
    return f"{local:%Y-%m-%d %H:%M}{local.isoformat()[-6:]}"


def who(name: str | None, address: str | None) -> str:
    """An enterprise as staff name it: ``name（address）``; empty when no event named it.

    >>> who("某某餐饮店", "文三路1号"), who(None, "文三路1号"), who(None, None)
    ('某某餐饮店（文三路1号）', '（文三路1号）', '')
    """
    return (name or "") + (f"（{address}）" if address else "")


def alert_line(body: dict[str, Any]) -> str | None:
    """The line for one alert record, or None when it is not to be notified."""
    if not body.get("notify", True):
        return None
    level = str(body.get("level", "?"))
    state = str(body.get("state", ""))
    entity = " ".join(
        p
        for p in (
            str(body.get("entity", "")),
            who(body.get("entity_name"), body.get("entity_address")),
        )
        if p
    )
    parts = [f"{level.upper():<6} {state:<10} {body.get('title', '')}", entity]
    parts.append(str(body.get("alert_id", "")))
    if body.get("historical"):
        parts.append("historical")
    changes = body.get("changes") or []
    if changes:
        parts.append("; ".join(str(c) for c in changes))
    elif state == "new":
        parts.append(", ".join(str(r.get("id", "")) for r in body.get("reasons", [])))
    if body.get("case_task_id"):
        parts.append(f"case {body['case_task_id']}")
    if body.get("suppressed_by") and state == "suppressed":
        parts.append(f"under {body['suppressed_by']}")
    return " · ".join(p for p in parts if p)


def task_line(body: dict[str, Any]) -> str:
    """The line for one dispatched task: full id, department, deadline in Beijing time."""
    return (
        f"  → 任务 {body.get('task_id', '')} → {body.get('department', '')}  "
        f"限时 {beijing(body.get('dispose_deadline'))}  {body.get('title', '')}"
        + (
            f"  {where}"
            if (where := who(body.get("entity_name"), body.get("entity_address")))
            else ""
        )
    )
