"""The worker's API, asked with the person's own token: the console's only source of
jurisdiction-bound data (warnings, tasks, profiles, silences, dispositions).

The console never decides who may see or do what: it forwards the person's token and shows what
the worker answers, so the worker stays the one place that decides and audits. A refusal, a
worker that is away or an answer that is not JSON becomes a :class:`BackendError` whose message
a page shows as it is (never a traceback).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

from console.keys import BACKEND
from schemas.errors import Refused
from schemas.records import Alert, Task

if TYPE_CHECKING:
    from collections.abc import Mapping

MAX_MESSAGE = 300
LIMIT = 1000
"""The API's largest page: the wall and the desk count the newest 1,000 warnings and tasks."""


class BackendError(Refused):
    """The worker refused or could not answer; ``message`` is for the page."""


def segment(value: str) -> str:
    """``value`` as one URL path segment: whatever a person typed cannot change the path.

    >>> segment("../tasks"), segment("a/b?c")
    ('..%2Ftasks', 'a%2Fb%3Fc')
    """
    return quote(value, safe="")


class Backend:
    """One client session to the worker at ``base_url`` for the console's lifetime."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the session on the console's event loop (aiohttp sessions belong to one
        loop): called from the app's startup, not from ``__init__``.
        """
        self._session = aiohttp.ClientSession(timeout=self.timeout, raise_for_status=False)

    async def close(self) -> None:
        """Close the session at shutdown, so no connection to the worker is left open."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(
        self, request: web.Request, path: str, params: Mapping[str, str] | None = None
    ) -> Any:
        """``GET path`` as the person of ``request``; the JSON answer or a BackendError."""
        return await self._call(request, "GET", path, params=dict(params or {}))

    async def post(
        self, request: web.Request, path: str, json: Any, params: Mapping[str, str] | None = None
    ) -> Any:
        """``POST path`` with a JSON body as the person of ``request``."""
        return await self._call(request, "POST", path, json=json, params=dict(params or {}))

    async def _call(self, request: web.Request, method: str, path: str, **kw: Any) -> Any:
        if not path.startswith("/api/"):
            raise ValueError(f"the console asks the worker's /api/ only, not {path}")
        if self._session is None:
            raise BackendError(503, "控制台尚未连接工作进程")
        headers = {"Authorization": f"Bearer {request['token']}", "Accept": "application/json"}
        try:
            async with self._session.request(
                method, f"{self.base_url}{path}", headers=headers, **kw
            ) as answer:
                body = await answer.read()
                status = answer.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise BackendError(503, f"无法连接工作进程 API（{type(exc).__name__}）") from exc
        return _decoded(status, body)


def _decoded(status: int, body: bytes) -> Any:
    """The answer's JSON, or a BackendError with the worker's own ``error`` message.

    >>> _decoded(200, b'{"a": 1}')
    {'a': 1}
    """
    import json

    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    if 200 <= status < 300:
        if data is None:
            raise BackendError(502, "工作进程返回了无法解析的应答")
        return data
    reason = data.get("error") if isinstance(data, dict) else None
    text = str(reason) if reason else body.decode("utf-8", "replace").strip() or f"HTTP {status}"
    raise BackendError(status, f"工作进程拒绝了请求（{status}）：{text[:MAX_MESSAGE]}")


def backend(request: web.Request) -> Backend:
    """The console's backend client (``Backend.get(request, …)``)."""
    return request.app[BACKEND]


async def picture(request: web.Request) -> tuple[list[Alert], list[Task]]:
    """The warnings and the tasks the person of ``request`` may see (the newest :data:`LIMIT`
    of each), asked together: what the wall (大屏) and the desk (我的待办) both count."""
    client, params = backend(request), {"limit": str(LIMIT)}
    warnings, tasks = await asyncio.gather(
        client.get(request, "/api/warnings", params), client.get(request, "/api/tasks", params)
    )
    return (
        [Alert.model_validate(a) for a in warnings["warnings"]],
        [Task.model_validate(t) for t in tasks["tasks"]],
    )
