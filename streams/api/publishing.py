"""API writes of fence sets, models and working calendars, beside rule packs and silences.

Each is the record ``riskloop geo|models|calendar publish`` would send, under the same key, on
the same control topic, signed with this worker's key (``Api.publish(..., signed=True)``): the
worker vouches for a caller it authorised. Who may publish what is the role check of
``Api.require`` — operators fence sets and calendars (they run the centre's geography and
duty roster), modellers models; who published is the token's person, and a ``by`` that names
someone else is refused, as for rule packs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from faust.web import Request, Response

from loop.jurisdiction import Permission
from streams.api.bodies import own, parameter
from streams.api.control_bodies import calendar_body, fence_set_body, model_body
from streams.api.privacy import MaskedView
from streams.api.service import guarded
from streams.control_keys import publication_key
from streams.logs import get_logger

if TYPE_CHECKING:
    from streams.api.service import Api
    from streams.worker_context import WorkerContext

log = get_logger(__name__)


async def _publisher(api: Api, request: Request, permission: Permission) -> str:
    """The authenticated person publishing (``name <sub>``); a ``?by=`` must name them."""
    person = await api.require(request, permission)
    by = request.query.get("by")
    if by is not None:
        own(person, "by", parameter("by", by))
    return person.actor


def register(worker: WorkerContext, api: Api) -> None:
    """Add ``POST /api/fencesets``, ``/api/models`` and ``/api/calendars`` to the worker's API."""
    topics = worker.topics
    limit = worker.settings.api_max_pack_bytes

    @worker.app.page("/api/fencesets")
    class FenceSets(MaskedView):
        @guarded
        async def post(self, request: Request) -> Response:
            who = await _publisher(api, request, Permission.operate)
            raw = await api.body(request, limit)
            fences = fence_set_body(raw)
            key = publication_key(fences.name, fences.version, fences.content_hash)
            await api.publish(topics.geofences, key, raw, signed=True)
            log.info("fence set published via API", fences=fences.name, version=fences.version,
                     by=who)  # fmt: skip
            return self.json({
                "name": fences.name, "version": fences.version,
                "content_hash": fences.content_hash, "fences": len(fences.fences),
                "published_by": who,
            }, status=202)  # fmt: skip

    @worker.app.page("/api/models")
    class Models(MaskedView):
        @guarded
        async def post(self, request: Request) -> Response:
            who = await _publisher(api, request, Permission.publish)
            # wall time, not the worker's clock: workers refuse a model dated in the future
            pub = model_body(await api.json_body(request), who=who, now=datetime.now(UTC))
            key = publication_key(pub.name, pub.version, pub.content_hash)
            await api.publish(topics.models, key, pub.model_dump_json().encode(), signed=True)
            log.info("model published via API", model=pub.name, version=pub.version, by=who)
            return self.json(pub.model_dump(mode="json"), status=202)

    @worker.app.page("/api/calendars")
    class Calendars(MaskedView):
        @guarded
        async def post(self, request: Request) -> Response:
            who = await _publisher(api, request, Permission.operate)
            raw = await api.body(request, limit)
            cal = calendar_body(raw)
            await api.publish(topics.calendars, str(cal.year), raw, signed=True)
            log.info("calendar published via API", year=cal.year, by=who)
            return self.json({
                "year": cal.year, "source": cal.source, "content_hash": cal.content_hash(),
                "published_by": who,
            }, status=202)  # fmt: skip
