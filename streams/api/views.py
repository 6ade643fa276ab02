"""The API's Faust web views: reads from tables, runtime and SQL store; audited writes.

Every handler goes through :func:`~streams.api.service.guarded`, so a refusal is ``{"error": ...}`` with its status
and an unexpected failure is logged here with its traceback and answered with a 500 that shows
none; a 503 (store or broker away) is logged with the traceback of its cause. Writes check the
person's token first, then the body, and only then produce one record: a refused request has no
side effect at all.

Every ``/api/*`` request names a person with a signed token (``streams.api.auth``), reads
included: the person's department and regions decide which tasks and warnings they see
(``loop.jurisdiction``), and a write records that person, never an actor a client wrote.
"""

from __future__ import annotations

import uuid
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

from loop.jurisdiction import Permission, check_profile, check_task, sees_silence, task_view
from loop.jurisdiction import warning_regions as visible_regions
from loop.silences import expire
from loop.verdicts import HTTP_STATUS, idempotent_event_id
from schemas.errors import ConfigError
from schemas.records import DispositionVerdict, VerdictOutcome
from streams.admin import known_departments
from streams.api.bodies import (
    USCC,
    ApiError,
    assignment_from,
    disposition_from,
    own,
    pack_publication,
    parameter,
    silence_from,
    warning_filters,
)
from streams.api.detail import preview_flag, silence_preview
from streams.api.detail import register as register_detail
from streams.api.privacy import MaskedView, answer_as
from streams.api.publishing import register as register_publishing
from streams.api.service import Api, guarded
from streams.control_keys import publication_key
from streams.handle import PROFILES, load
from streams.logs import get_logger
from streams.state import plain

if TYPE_CHECKING:
    from faust.web import Request, Response, View

    from loop.identity import Principal
    from schemas.records import Disposition
    from streams.worker_context import WorkerContext

log = get_logger(__name__)


@cache
def openapi_spec() -> dict[str, Any]:
    """The contract, read once from ``openapi.yaml`` (shipped as package data)."""
    text = resources.files("streams.api").joinpath("openapi.yaml").read_text(encoding="utf-8")
    spec: dict[str, Any] = yaml.safe_load(text)
    return spec


def event_id_of(request: Request, task_id: str, prefix: str) -> str:
    """The disposition's event id: derived from the ``Idempotency-Key`` header when there is one,
    so every retry of one request carries the same id and is applied once; else a fresh one."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return f"{prefix}-{uuid.uuid4().hex[:16]}"
    if not key.strip():
        raise ApiError(400, "Idempotency-Key must not be empty")
    return idempotent_event_id(task_id, parameter("Idempotency-Key", key), prefix)


async def task_write(
    api: Api, request: Request, task_id: str, permission: Permission, prefix: str
) -> tuple[Principal, str]:
    """The person and the event id of a write to one task, checked in the order every write
    keeps: the token, then the task id, then the ``Idempotency-Key``, all before the body."""
    who = await api.require(request, permission)
    parameter("task_id", task_id)
    return who, event_id_of(request, task_id, prefix)


async def send_and_answer(
    api: Api, view: View, record: Disposition, event: str, **fields: Any
) -> Response:
    """Send ``record`` on the dispositions topic, log ``event`` with ``fields``, and answer with
    the worker's verdict: a disposition and an assignment differ in how they are built and who
    may send them, not in how they travel."""
    verdict = await api.publish_and_judge(record)
    outcome = verdict.outcome.value if verdict else None
    log.info(event, task=record.task_id, **fields, verdict=outcome)
    return answer_verdict(view, record.model_dump(mode="json"), verdict)


def answer_verdict(
    view: View, disposition: dict[str, Any], verdict: DispositionVerdict | None
) -> Response:
    """200 applied (or already applied), 404/409/422 refused with the worker's reason, 202 sent
    but no verdict in time (a retry with the same Idempotency-Key is then safe)."""
    if verdict is None:
        return view.json(
            {
                "disposition": disposition,
                "verdict": None,
                "message": "sent, but no worker answered in time; it may still apply — "
                "retry with the same Idempotency-Key to be safe",
            },
            status=202,
        )
    body = verdict.model_dump(mode="json")
    if verdict.outcome is VerdictOutcome.refused:
        status = HTTP_STATUS.get(verdict.reason or "", 409)
        return view.json(
            {"error": f"{verdict.reason}: {verdict.message}", "verdict": body}, status=status
        )
    return view.json({"disposition": disposition, "verdict": body}, status=200)


def register(worker: WorkerContext) -> None:
    """Add the API views to the worker's web server (called from ``streams.web.register``)."""
    api = Api(worker)
    rt = worker.runtime

    @worker.app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def close_store(app_: Any, **_: Any) -> None:
        api.close()

    register_detail(worker, api)
    register_publishing(worker, api)

    @worker.app.page("/openapi.json")
    class OpenApi(MaskedView):
        @guarded
        async def get(self, request: Request) -> Response:
            return self.json(openapi_spec())

    @worker.app.page("/api/warnings")
    class Warnings(MaskedView):
        @guarded
        async def get(self, request: Request) -> Response:
            who = await api.require(request, Permission.read)
            filters = warning_filters(request.query)
            regions = visible_regions(who, filters.pop("region"), centre=api.centre)
            alerts = await api.query_store(lambda s: s.list_alerts(**filters, regions=regions))
            return self.json({"warnings": [a.model_dump(mode="json") for a in alerts]})

    @worker.app.page("/api/tasks/{task_id}")
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
                answer_as(task_view(who, story.task.department))
            return self.json(story.model_dump(mode="json"))

    @worker.app.page("/api/entities/{uscc}/profile")
    class Profile(MaskedView):
        @guarded
        async def get(self, request: Request, uscc: str) -> Response:
            await api.require(request, Permission.read)
            if not USCC.fullmatch(uscc):
                raise ApiError(400, "uscc must be an 18-character unified social credit code")
            return await self.owned(request)

        @worker.app.topic_route(topic=worker.topics.profile_events, match_info="uscc")
        async def owned(self: View, request: Request) -> Response:
            """Runs on the worker that owns the partition of ``uscc`` on the profile events
            topic (the profiles' key); others forward to it. The token is read again here:
            ``get`` refuses a stranger before any forwarding, and the region check needs the
            person on the worker that holds the profile."""
            who = await api.require(request, Permission.read)
            uscc = request.match_info["uscc"]
            profile = load(worker, PROFILES, uscc)
            if profile is None:
                raise ApiError(404, f"no profile of {uscc} yet")
            check_profile(who, profile.region_code, centre=api.centre)
            return self.json(plain(profile))

    @worker.app.page("/api/active")
    class Active(MaskedView):
        @guarded
        async def get(self, request: Request) -> Response:
            await api.require(request, Permission.read)
            return self.json({"worker": rt.worker_id, "active": rt.active_versions()})

    @worker.app.page("/api/silences")
    class Silences(MaskedView):
        @guarded
        async def get(self, request: Request) -> Response:
            who = await api.require(request, Permission.read)
            now = rt.clock.now()
            active = [
                s.model_dump(mode="json")
                for s in rt.silences
                if s.end > now and sees_silence(who, s.region_prefix, centre=api.centre)
            ]
            return self.json({"silences": active})

        @guarded
        async def post(self, request: Request) -> Response:
            who = await api.require(request, Permission.operate)
            preview = preview_flag(request.query)
            silence = silence_from(
                await api.json_body(request),
                silence_id=f"sil-{uuid.uuid4().hex[:10]}",
                now=rt.clock.now(),
                max_duration=rt.loop.max_silence,
                who=who,
            )
            if preview:  # like `amtool alert query`: what it would hit, nothing published
                now = rt.clock.now()
                return self.json(await api.query_store(lambda s: silence_preview(s, silence, now)))
            await api.publish(
                worker.topics.silences,
                silence.silence_id,
                silence.model_dump_json().encode(),
                signed=True,
            )
            log.info("silence published via API", silence=silence.silence_id, by=silence.creator)
            return self.json(silence.model_dump(mode="json"), status=202)

    @worker.app.page("/api/silences/{silence_id}/expire")
    class SilenceExpiry(MaskedView):
        @guarded
        async def post(self, request: Request, silence_id: str) -> Response:
            """End a silence now (operators): what ``riskloop silence expire`` does, as the
            token's person, who the record names as ``expired_by``."""
            who = await api.require(request, Permission.operate)
            current = rt.silence_registry.active.get(parameter("silence_id", silence_id))
            if current is None:
                raise ApiError(404, f"no silence {silence_id} on this worker")
            try:
                ended = expire(current, who.actor, rt.clock.now())
            except ConfigError as exc:  # already ended
                raise ApiError(409, str(exc)) from exc
            await api.publish(
                worker.topics.silences, silence_id, ended.model_dump_json().encode(), signed=True
            )
            log.info("silence expired via API", silence=silence_id, by=ended.expired_by)
            return self.json(ended.model_dump(mode="json"), status=202)

    @worker.app.page("/api/rulepacks")
    class RulePacks(MaskedView):
        @guarded
        async def post(self, request: Request) -> Response:
            person = await api.require(request, Permission.publish)
            by = request.query.get("by")
            if by is not None:  # who publishes is the token's person; a `by` must agree
                own(person, "by", parameter("by", by))
            who = person.actor
            raw = await api.body(request, worker.settings.api_max_pack_bytes)
            pub = pack_publication(raw, who=who, now=rt.clock.now())
            key = publication_key(pub.name, pub.version, pub.content_hash)
            value = pub.model_dump_json().encode()
            await api.publish(worker.topics.rulepacks, key, value, signed=True)
            log.info("rule pack published via API", pack=pub.name, version=pub.version, by=who)
            body = pub.model_dump(mode="json", exclude={"yaml"})
            return self.json(body, status=202)

    @worker.app.page("/api/tasks/{task_id}/dispositions")
    class Dispositions(MaskedView):
        @guarded
        async def post(self, request: Request, task_id: str) -> Response:
            who, event_id = await task_write(api, request, task_id, Permission.dispose, "disp")
            record = disposition_from(
                await api.json_body(request),
                task_id=task_id,
                event_id=event_id,
                now=rt.clock.now(),
                who=who,
                centre=api.centre,
            )
            await api.check_task(who, task_id)
            return await send_and_answer(
                api, self, record, "disposition sent via API", action=record.action.value
            )

    departments = frozenset(known_departments(worker.settings))

    @worker.app.page("/api/tasks/{task_id}/assignments")
    class Assignments(MaskedView):
        @guarded
        async def post(self, request: Request, task_id: str) -> Response:
            # arbitrate: the risk centre's
            who, event_id = await task_write(api, request, task_id, Permission.arbitrate, "assign")
            record = assignment_from(
                await api.json_body(request),
                task_id=task_id,
                event_id=event_id,
                now=rt.clock.now(),
                centre=rt.loop.centre,
                departments=departments,
                who=who,
            )
            return await send_and_answer(
                api, self, record, "assignment sent via API", to=record.assign_to, by=record.actor
            )
