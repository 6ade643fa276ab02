"""The API's Faust web views: reads from tables, runtime and SQL store; audited writes.

Every handler goes through :func:`guarded`, so a refusal is ``{"error": ...}`` with its status
and an unexpected failure is logged here with its traceback and answered with a 500 that shows
none; a 503 (store or broker away) is logged with the traceback of its cause. Writes check the
person's token first, then the body, and only then produce one record: a refused request has no
side effect at all.

Every ``/api/*`` request names a person with a signed token (``streams.api.auth``), reads
included: the person's department and regions decide which tasks and warnings they see
(``loop.jurisdiction``), and a write records that person, never an actor a client wrote.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import uuid
from collections.abc import Awaitable, Callable
from functools import cache, wraps
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar

import faust
import yaml
from aiokafka.errors import KafkaError
from faust.web import Request, Response, View
from faust.web.exceptions import WebError

from loop.identity import Principal
from loop.jurisdiction import Forbidden, Permission, check_task
from loop.jurisdiction import warning_regions as visible_regions
from loop.verdicts import HTTP_STATUS, idempotent_event_id
from schemas.errors import RiskLoopError
from schemas.records import Disposition, DispositionVerdict, VerdictOutcome
from streams.admin import known_departments
from streams.api.auth import Auth
from streams.api.bodies import (
    USCC,
    ApiError,
    assignment_from,
    check_length,
    disposition_from,
    json_object,
    own,
    pack_publication,
    parameter,
    silence_from,
    warning_filters,
)
from streams.api.privacy import MaskedView, bind_view
from streams.control import keyring
from streams.control_keys import publication_key
from streams.handle import PROFILES, load
from streams.logs import get_logger
from streams.state import plain
from streams.verdicts import API_VERDICT_TIMEOUT, VerdictWatch, door_problem

if TYPE_CHECKING:
    from sinks.sql import SqlStore
    from streams.app import RiskLoopApp

log = get_logger(__name__)

PUBLISH_TIMEOUT = 30.0  # seconds to wait for the broker to acknowledge a write

Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Response]])


@cache
def openapi_spec() -> dict[str, Any]:
    """The contract, read once from ``openapi.yaml`` (shipped as package data)."""
    text = resources.files("streams.api").joinpath("openapi.yaml").read_text(encoding="utf-8")
    spec: dict[str, Any] = yaml.safe_load(text)
    return spec


def guarded(handler: Handler) -> Handler:
    """Refusals become JSON errors; anything unexpected is logged and becomes a bare 500."""

    @wraps(handler)
    async def run(view: View, request: Request, *args: Any, **kwargs: Any) -> Response:
        bind_view(request)  # its answer is masked for this caller (streams/api/privacy.py)
        try:
            return await handler(view, request, *args, **kwargs)
        except Forbidden as exc:  # a person, asking for what is not theirs
            log.warning("API request forbidden", path=request.url.path, method=request.method,
                        reason=str(exc))  # fmt: skip
            return view.error(403, str(exc))
        except ApiError as exc:
            if exc.status >= 500:  # not the client's doing: keep the cause's traceback
                log.warning("API request unavailable", path=request.url.path,
                            method=request.method, status=exc.status, error=_cause(exc),
                            exc_info=exc)  # fmt: skip
            return view.error(exc.status, exc.message)
        except WebError as exc:
            if exc.code >= 500:  # e.g. a table route while the group rebalances
                log.warning("API request unavailable", path=request.url.path,
                            method=request.method, status=exc.code, error=_cause(exc),
                            exc_info=exc)  # fmt: skip
            raise  # Faust answers these itself, as JSON
        except Exception as exc:
            log.exception("API request failed", path=request.url.path, method=request.method,
                          error=_cause(exc))  # fmt: skip
            return view.error(500, "internal error (logged on the worker)")

    return run  # type: ignore[return-value]


def _cause(exc: BaseException) -> str:
    """The cause as a field too: a traceback alone may be cut or unreadable in a log store."""
    root = exc.__cause__ or exc
    return f"{type(root).__name__}: {root}"[:1000]


class Api:
    """What the views share: the app and one SQL store, opened on first use."""

    def __init__(self, app: RiskLoopApp) -> None:
        self.app = app
        self.centre = app.riskloop_runtime.loop.centre
        self.auth = Auth(app.riskloop_settings, self.centre)
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

                store = SqlStore.from_settings(self.app.riskloop_settings)
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
        return json_object(await self.body(request, self.app.riskloop_settings.api_max_body_bytes))

    async def publish(
        self, topic: faust.TopicT, key: str, value: bytes, *, signed: bool = False
    ) -> None:
        """Produce one record through the worker's producer and wait for the broker's ack;
        ``signed``: with the worker's signature (a control record its authorised caller sent)."""
        raw = key.encode()
        headers = keyring(self.app).sign(topic.get_topic_name(), raw, value) if signed else None
        try:
            delivered = await topic.send(key=raw, value=value, headers=headers)
            if inspect.isawaitable(delivered):
                await asyncio.wait_for(delivered, PUBLISH_TIMEOUT)
        except (TimeoutError, OSError, KafkaError) as exc:
            raise ApiError(503, f"could not publish to {topic.get_topic_name()}: {exc}") from exc

    async def publish_and_judge(
        self, topic: faust.TopicT, event_id: str, key: str, value: bytes
    ) -> DispositionVerdict | None:
        """Publish a disposition and wait for the worker's verdict (None: none in time); one
        the worker's door would refuse is a 422 here, never sent."""
        settings = self.app.riskloop_settings
        problem = door_problem(settings, Disposition.model_validate_json(value))
        if problem is not None:
            raise ApiError(422, f"disposition rejected: {problem}")
        try:
            watch = await asyncio.to_thread(VerdictWatch, settings)
        except RiskLoopError as exc:
            raise ApiError(503, f"cannot read {settings.topics.verdicts}: {exc}") from exc
        try:
            await self.publish(topic, key, value)
            return await asyncio.to_thread(watch.wait, event_id, API_VERDICT_TIMEOUT)
        finally:
            await asyncio.to_thread(watch.close)


def event_id_of(request: Request, task_id: str, prefix: str) -> str:
    """The disposition's event id: derived from the ``Idempotency-Key`` header when there is one,
    so every retry of one request carries the same id and is applied once; else a fresh one."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return f"{prefix}-{uuid.uuid4().hex[:16]}"
    if not key.strip():
        raise ApiError(400, "Idempotency-Key must not be empty")
    return idempotent_event_id(task_id, parameter("Idempotency-Key", key), prefix)


def answer_verdict(
    view: View, disposition: dict[str, Any], verdict: DispositionVerdict | None
) -> Response:
    """200 applied (or already applied), 404/409/422 refused with the worker's reason, 202 sent
    but no verdict in time (a retry with the same Idempotency-Key is then safe)."""
    if verdict is None:
        return view.json({
            "disposition": disposition, "verdict": None,
            "message": "sent, but no worker answered in time; it may still apply — "
                       "retry with the same Idempotency-Key to be safe",
        }, status=202)  # fmt: skip
    body = verdict.model_dump(mode="json")
    if verdict.outcome is VerdictOutcome.refused:
        status = HTTP_STATUS.get(verdict.reason or "", 409)
        return view.json({"error": f"{verdict.reason}: {verdict.message}", "verdict": body},
                         status=status)  # fmt: skip
    return view.json({"disposition": disposition, "verdict": body}, status=200)


def register(app: RiskLoopApp) -> None:
    """Add the API views to ``app`` (called from ``streams.web.register``)."""
    api = Api(app)
    rt = app.riskloop_runtime

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def close_store(app_: Any, **_: Any) -> None:
        api.close()

    from streams.api import detail, publishing
    from streams.api.detail import preview_flag, silence_preview

    detail.register(app, api)
    publishing.register(app, api)

    @app.page("/openapi.json")
    class OpenApi(MaskedView):
        @guarded
        async def get(self, request: Request) -> Response:
            return self.json(openapi_spec())

    @app.page("/api/warnings")
    class Warnings(MaskedView):
        @guarded
        async def get(self, request: Request) -> Response:
            who = await api.require(request, Permission.read)
            filters = warning_filters(request.query)
            regions = visible_regions(who, filters.pop("region"), centre=api.centre)
            alerts = await api.query_store(lambda s: s.list_alerts(**filters, regions=regions))
            return self.json({"warnings": [a.model_dump(mode="json") for a in alerts]})

    @app.page("/api/tasks/{task_id}")
    class TaskView(MaskedView):
        @guarded
        async def get(self, request: Request, task_id: str) -> Response:
            who = await api.require(request, Permission.read)
            parameter("task_id", task_id)
            story = await api.query_store(lambda s: s.task_with_audit(task_id))
            if story is None:
                raise ApiError(404, f"no task {task_id} in the task store")
            if story.task is not None:
                check_task(who, story.task.department, centre=api.centre)
            return self.json(story.model_dump(mode="json"))

    @app.page("/api/entities/{uscc}/profile")
    class Profile(MaskedView):
        @guarded
        async def get(self, request: Request, uscc: str) -> Response:
            await api.require(request, Permission.read)
            if not USCC.fullmatch(uscc):
                raise ApiError(400, "uscc must be an 18-character unified social credit code")
            return await self.owned(request)

        @app.topic_route(topic=app.riskloop_topics.profile_events, match_info="uscc")
        async def owned(self: View, request: Request) -> Response:
            """Runs on the worker that owns the partition of ``uscc`` on the profile events
            topic (the profiles' key); others forward to it."""
            uscc = request.match_info["uscc"]
            profile = load(app, PROFILES, uscc)
            if profile is None:
                raise ApiError(404, f"no profile of {uscc} yet")
            return self.json(plain(profile))

    @app.page("/api/active")
    class Active(MaskedView):
        @guarded
        async def get(self, request: Request) -> Response:
            await api.require(request, Permission.read)
            return self.json({"worker": rt.worker_id, "active": rt.active_versions()})

    @app.page("/api/silences")
    class Silences(MaskedView):
        @guarded
        async def get(self, request: Request) -> Response:
            await api.require(request, Permission.read)
            now = rt.clock.now()
            active = [s.model_dump(mode="json") for s in rt.silences if s.end > now]
            return self.json({"silences": active})

        @guarded
        async def post(self, request: Request) -> Response:
            who = await api.require(request, Permission.operate)
            preview = preview_flag(request.query)
            silence = silence_from(
                await api.json_body(request), silence_id=f"sil-{uuid.uuid4().hex[:10]}",
                now=rt.clock.now(), max_duration=rt.loop.max_silence, who=who,
            )  # fmt: skip
            if preview:  # like `amtool alert query`: what it would hit, nothing published
                now = rt.clock.now()
                return self.json(await api.query_store(lambda s: silence_preview(s, silence, now)))
            await api.publish(
                app.riskloop_topics.silences,
                silence.silence_id,
                silence.model_dump_json().encode(),
                signed=True,
            )
            log.info("silence published via API", silence=silence.silence_id, by=silence.creator)
            return self.json(silence.model_dump(mode="json"), status=202)

    @app.page("/api/rulepacks")
    class RulePacks(MaskedView):
        @guarded
        async def post(self, request: Request) -> Response:
            person = await api.require(request, Permission.publish)
            by = request.query.get("by")
            if by is not None:  # who publishes is the token's person; a `by` must agree
                own(person, "by", parameter("by", by))
            who = person.actor
            raw = await api.body(request, app.riskloop_settings.api_max_pack_bytes)
            pub = pack_publication(raw, who=who, now=rt.clock.now())
            key = publication_key(pub.name, pub.version, pub.content_hash)
            value = pub.model_dump_json().encode()
            await api.publish(app.riskloop_topics.rulepacks, key, value, signed=True)
            log.info("rule pack published via API", pack=pub.name, version=pub.version, by=who)
            body = pub.model_dump(mode="json", exclude={"yaml"})
            return self.json(body, status=202)

    @app.page("/api/tasks/{task_id}/dispositions")
    class Dispositions(MaskedView):
        @guarded
        async def post(self, request: Request, task_id: str) -> Response:
            who = await api.require(request, Permission.dispose)
            parameter("task_id", task_id)
            event_id = event_id_of(request, task_id, "disp")
            record = disposition_from(
                await api.json_body(request), task_id=task_id, event_id=event_id,
                now=rt.clock.now(), who=who, centre=api.centre,
            )  # fmt: skip
            await api.check_task(who, task_id)
            verdict = await api.publish_and_judge(
                app.riskloop_topics.dispositions, record.event_id, task_id,
                record.model_dump_json().encode(),
            )  # fmt: skip
            log.info("disposition sent via API", task=task_id, action=record.action.value,
                     verdict=verdict.outcome.value if verdict else None)  # fmt: skip
            return answer_verdict(self, record.model_dump(mode="json"), verdict)

    departments = frozenset(known_departments(app.riskloop_settings))

    @app.page("/api/tasks/{task_id}/assignments")
    class Assignments(MaskedView):
        @guarded
        async def post(self, request: Request, task_id: str) -> Response:
            who = await api.require(request, Permission.arbitrate)  # the risk centre
            parameter("task_id", task_id)
            event_id = event_id_of(request, task_id, "assign")
            record = assignment_from(
                await api.json_body(request), task_id=task_id, event_id=event_id,
                now=rt.clock.now(), centre=rt.loop.centre, departments=departments, who=who,
            )  # fmt: skip
            verdict = await api.publish_and_judge(
                app.riskloop_topics.dispositions, record.event_id, task_id,
                record.model_dump_json().encode(),
            )  # fmt: skip
            log.info("assignment sent via API", task=task_id, to=record.assign_to,
                     by=record.actor, verdict=verdict.outcome.value if verdict else None)  # fmt: skip
            return answer_verdict(self, record.model_dump(mode="json"), verdict)
