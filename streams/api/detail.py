"""Detail where staff look (issue #17): one warning with its task, and the task list.

``GET /api/warnings/{alert_id}`` gives a warning's latest record (the enterprise's name and
address, the complaint behind it with personal data masked, reasons with their pack or model
versions, evidence ids and the last five evidence events in brief — time, source, the values
that fired —, its last 20 notified changes, whether it is historical or a safety alarm)
with its verification task and that task's audit trail (全程留痕); ``GET /api/tasks`` lists tasks
by department and state. Times are Beijing time with the offset written out (``+08:00``): a
UTC time without a zone was read as Beijing time. A query parameter an endpoint does not take
is a 400, not silently ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from loop import ids
from loop.jurisdiction import Permission, check_warning, task_department
from loop.silences import Silence, preview
from streams.api.bodies import ApiError, known_only, parameter, task_filters
from streams.api.privacy import MaskedView
from streams.api.service import guarded

if TYPE_CHECKING:
    from collections.abc import Mapping

    from faust.web import Request, Response

    from sinks.sql import SqlStore
    from streams.api.service import Api
    from streams.worker_context import WorkerContext

ZONE = ZoneInfo("Asia/Shanghai")


def beijing(value: Any) -> Any:
    """JSON-ready ``value`` with every instant in Beijing time, its offset written out.

    >>> from datetime import UTC
    >>> beijing({"at": datetime(2026, 11, 21, 3, 55, tzinfo=UTC), "n": [1]})
    {'at': '2026-11-21T11:55:00+08:00', 'n': [1]}
    """
    if isinstance(value, BaseModel):
        return beijing(value.model_dump(mode="python"))
    if isinstance(value, datetime):
        return value.astimezone(ZONE).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, dict):
        return {k: beijing(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [beijing(v) for v in value]
    if hasattr(value, "value") and not isinstance(value, str | int | float | bool):
        return value.value  # an enum
    return value


def warning_detail(store: SqlStore, alert_id: str) -> dict[str, Any] | None:
    """The warning and its task — its own or its case's — with the task's audit trail
    (None: no such warning)."""
    alert = store.get_alert(alert_id)
    if alert is None:
        return None
    story = store.task_with_audit(alert.case_task_id or ids.task_id(alert_id))
    detail: dict[str, Any] = beijing({"zone": "Asia/Shanghai", "warning": alert, "task": story})
    return detail


def task_list(store: SqlStore, **filters: Any) -> dict[str, Any]:
    """``GET /api/tasks``'s body: the tasks ``filters`` select, in Beijing time."""
    return {"zone": "Asia/Shanghai", "tasks": beijing(store.list_tasks(**filters))}


def preview_flag(query: Mapping[str, str]) -> bool:
    """``POST /api/silences?preview=true``: only show what the silence would hit (400 for any
    other parameter or value).

    >>> preview_flag({"preview": "true"}), preview_flag({})
    (True, False)
    """
    known_only(query, {"preview"})
    value = query.get("preview", "false")
    if value not in ("true", "false"):
        raise ApiError(400, "preview must be true or false")
    return value == "true"


def silence_preview(store: SqlStore, silence: Silence, now: datetime) -> dict[str, Any]:
    """The live warnings ``silence`` would silence now and the safety alarms it would spare."""
    hit, spared = preview(silence, store.list_alerts(limit=100_000), now)
    return {
        "silence": silence.model_dump(mode="json"),
        "would_silence": [a.alert_id for a in hit],
        "spared_safety_alarms": [a.alert_id for a in spared],
    }


def register(worker: WorkerContext, api: Api) -> None:
    """Add the detail views (called from ``streams.api.views.register``)."""

    @worker.app.page("/api/warnings/{alert_id}")
    class WarningView(MaskedView):
        @guarded
        async def get(self, request: Request, alert_id: str) -> Response:
            who = await api.require(request, Permission.read)
            known_only(request.query, set())
            parameter("alert_id", alert_id)
            detail = await api.query_store(lambda s: warning_detail(s, alert_id))
            if detail is None:
                raise ApiError(404, f"no warning {alert_id} in the task store")
            check_warning(who, detail["warning"]["region_code"], centre=api.centre)
            return self.json(detail)

    @worker.app.page("/api/tasks")
    class Tasks(MaskedView):
        @guarded
        async def get(self, request: Request) -> Response:
            who = await api.require(request, Permission.read)
            filters = task_filters(request.query)  # 400s before any query
            filters["department"] = task_department(who, filters["department"], centre=api.centre)
            return self.json(await api.query_store(lambda s: task_list(s, **filters)))
