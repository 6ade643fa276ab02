"""What the API's views share: the refusal guard every handler goes through, and :class:`Api`
(the worker context, the token check and one SQL store, opened on first use).

Apart from ``streams/api/views.py`` so that the views of ``streams/api/detail.py`` and
``streams/api/publishing.py`` use them without importing the module that registers them.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from aiokafka.errors import KafkaError
from faust.web import Request, Response, View
from faust.web.exceptions import WebError

from loop.jurisdiction import Forbidden, Permission, check_task
from schemas.errors import RiskLoopError
from streams.api.auth import Auth
from streams.api.bodies import ApiError, check_length, json_object
from streams.api.privacy import reset_view
from streams.api.request_log import log_request
from streams.control import keyring
from streams.logs import get_logger
from streams.verdicts import API_VERDICT_TIMEOUT, VerdictWatch, door_problem

if TYPE_CHECKING:
    import faust

    from loop.identity import Principal
    from schemas.records import Disposition, DispositionVerdict
    from sinks.sql import SqlStore
    from streams.worker_context import WorkerContext

log = get_logger(__name__)

PUBLISH_TIMEOUT = 30.0  # seconds to wait for the broker to acknowledge a write

Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Response]])


def guarded(handler: Handler) -> Handler:
    """Refusals become JSON errors; anything unexpected is logged and becomes a bare 500."""

    @wraps(handler)
    async def run(view: View, request: Request, *args: Any, **kwargs: Any) -> Response:
        reset_view()  # the answer is masked unless the handler widens it (streams/api/privacy.py)
        try:
            return await handler(view, request, *args, **kwargs)
        except Forbidden as exc:  # a person, asking for what is not theirs
            log_request(log.warning, "API request forbidden", request, reason=str(exc))
            return view.error(403, str(exc))
        except ApiError as exc:
            if exc.status >= 500:  # not the client's doing: keep the cause's traceback
                _log_unavailable(request, exc.status, exc)
            return view.error(exc.status, exc.message)
        except WebError as exc:
            if exc.code >= 500:  # e.g. a table route while the group rebalances
                _log_unavailable(request, exc.code, exc)
            raise  # Faust answers these itself, as JSON
        except Exception as exc:
            log_request(log.exception, "API request failed", request, error=_cause(exc))
            return view.error(500, "internal error (logged on the worker)")
        finally:
            # the view lives in the connection's task: a keep-alive connection's next request
            # must not start with this one's (a task's holder had ``full``)
            reset_view()

    return run  # type: ignore[return-value]


def _log_unavailable(request: Request, status: int, exc: Exception) -> None:
    """A 5xx the client did not cause (store, broker or rebalance): logged with its cause."""
    log_request(
        log.warning,
        "API request unavailable",
        request,
        status=status,
        error=_cause(exc),
        exc_info=exc,
    )


def _cause(exc: BaseException) -> str:
    """The cause as a field too: a traceback alone may be cut or unreadable in a log store."""
    root = exc.__cause__ or exc
    return f"{type(root).__name__}: {root}"[:1000]


class Api:
    """What the views share: the worker and one SQL store, opened on first use."""

    def __init__(self, worker: WorkerContext) -> None:
        self.worker = worker
        self.centre = worker.runtime.loop.centre
        self.auth = Auth(worker.settings, self.centre)
        self._store: SqlStore | None = None
        self._opening = threading.Lock()

    def _open_store(self) -> SqlStore:
        """The store, brought to the schema head on first use (in a worker thread).

        The SQL sink migrates only before its first write, so a fresh worker with no warnings
        yet would have no tables; the same idempotent ``migrate`` here makes an empty store
        read as empty instead of failing.
        """
        with self._opening:
            if self._store is None:
                from sinks.migrate import migrate
                from sinks.sql import SqlStore

                store = SqlStore.from_settings(self.worker.settings)
                migrate(store.engine)
                self._store = store
            return self._store

    def close(self) -> None:
        """Close the SQL store at shutdown (opened again on next use)."""
        if self._store is not None:
            self._store.close()
            self._store = None

    async def require(self, request: Request, permission: Permission) -> Principal:
        """The token's person if allowed ``permission`` (401/403 before anything is read)."""
        return await self.auth.require(request, permission)

    async def check_task(self, who: Principal, task_id: str) -> None:
        """403 if the store holds ``task_id`` in another department than ``who``'s.

        The worker stays the authority (a disposition carries the token's department, and the
        state machine refuses one from another department); this answers a 403 before anything
        is sent. A task the store does not hold yet goes on to the worker, which knows it or
        answers ``unknown_task``.
        """
        story = await self.query_store(lambda s: s.task_with_audit(task_id))
        if story is not None and story.task is not None:
            check_task(who, story.task.department, centre=self.centre)

    async def query_store(self, call: Callable[[SqlStore], Any]) -> Any:
        """Run a blocking SQL query in a thread; a store failure is a 503, not a crash."""
        try:
            return await asyncio.to_thread(lambda: call(self._open_store()))
        except RiskLoopError as exc:
            # the store's message names SQL and tables: the log gets it, the client only what failed
            raise ApiError(503, "the SQL task store is not available") from exc

    async def body(self, request: Request, limit: int) -> bytes:
        """The request body, refused with a 413 as soon as it passes ``limit`` bytes.

        Read here from the stream, never whole first: aiohttp's own ``client_max_size`` only
        guards ``request.read()``, and Faust's ``read_request_content`` reads without a limit
        (a 100 MiB pack held the event loop for over a minute).
        """
        check_length(request.headers.get("Content-Length"), limit)
        stream = request.content  # type: ignore[attr-defined]  # aiohttp's StreamReader
        chunks: list[bytes] = []
        size = 0
        async for chunk in stream.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"request body is over this endpoint's limit of {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def json_body(self, request: Request) -> dict[str, Any]:
        """A small JSON object body (dispositions, silences, assignments)."""
        return json_object(await self.body(request, self.worker.settings.api_max_body_bytes))

    async def publish(
        self, topic: faust.TopicT, key: str, value: bytes, *, signed: bool = False
    ) -> None:
        """Produce one record through the worker's producer and wait for the broker's ack;
        ``signed``: with the worker's signature (a control record its authorised caller sent)."""
        raw = key.encode()
        headers = keyring(self.worker).sign(topic.get_topic_name(), raw, value) if signed else None
        try:
            delivered = await topic.send(key=raw, value=value, headers=headers)
            if inspect.isawaitable(delivered):
                await asyncio.wait_for(delivered, PUBLISH_TIMEOUT)
        except (TimeoutError, OSError, KafkaError) as exc:
            raise ApiError(503, f"could not publish to {topic.get_topic_name()}: {exc}") from exc

    async def publish_and_judge(self, record: Disposition) -> DispositionVerdict | None:
        """Publish a disposition on the dispositions topic, keyed by its task, and wait for the
        worker's verdict (None: none in time); one the worker's door would refuse is a 422
        here, never sent."""
        settings = self.worker.settings
        problem = door_problem(settings, record)
        if problem is not None:
            raise ApiError(422, f"disposition rejected: {problem}")
        try:
            watch = await asyncio.to_thread(VerdictWatch, settings)
        except RiskLoopError as exc:
            raise ApiError(503, str(exc)) from exc  # names the topic and the cause already
        try:
            value = record.model_dump_json().encode()
            await self.publish(self.worker.topics.dispositions, record.task_id, value)
            return await asyncio.to_thread(watch.wait, record.event_id, API_VERDICT_TIMEOUT)
        finally:
            await asyncio.to_thread(watch.close)
