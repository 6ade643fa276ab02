"""API writes of fence sets, models and working calendars, beside rule packs and silences.

Each is the record ``riskloop geo|models|calendar publish`` would send, under the same key, on
the same control topic, signed with this worker's key (``Api.publish(..., signed=True)``): the
worker vouches for a caller it authorised. Who may publish what is the role check of
``Api.require`` — operators fence sets and calendars (they run the centre's geography and
duty roster), modellers models; who published is the token's person, and a ``by`` that names
someone else is refused, as for rule packs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from loop.jurisdiction import Permission
from streams.api.bodies import own, parameter
from streams.api.control_bodies import calendar_body, fence_set_body, model_body
from streams.api.privacy import MaskedView
from streams.api.service import guarded
from streams.control_keys import key_of
from streams.logs import get_logger

if TYPE_CHECKING:
    from collections.abc import Callable

    from faust.types import TopicT
    from faust.web import Request, Response

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


@dataclass(frozen=True)
class _Document:
    """A control document as received: the key it is filed under and what the answer shows."""

    key: str
    summary: dict[str, Any]


def _fence_set(raw: bytes) -> _Document:
    fences = fence_set_body(raw)
    summary = {
        "name": fences.name,
        "version": fences.version,
        "content_hash": fences.content_hash,
        "fences": len(fences.fences),
    }
    return _Document(key_of(fences), summary)


def _calendar(raw: bytes) -> _Document:
    cal = calendar_body(raw)
    summary = {"year": cal.year, "source": cal.source, "content_hash": cal.content_hash()}
    return _Document(str(cal.year), summary)


def register(worker: WorkerContext, api: Api) -> None:
    """Add ``POST /api/fencesets``, ``/api/models`` and ``/api/calendars`` to the worker's API."""
    topics = worker.topics
    limit = worker.settings.api_max_pack_bytes

    def document_page(
        path: str, what: str, topic: TopicT, read: Callable[[bytes], _Document]
    ) -> None:
        """A page that publishes the body as it came (GeoJSON, a calendar's YAML): the bytes
        the CLI would send for the same file, once ``read`` found them a worker would take."""

        @worker.app.page(path)
        class Document(MaskedView):
            @guarded
            async def post(self, request: Request) -> Response:
                who = await _publisher(api, request, Permission.operate)
                raw = await api.body(request, limit)
                document = read(raw)
                await api.publish(topic, document.key, raw, signed=True)
                log.info(f"{what} published via API", **document.summary, by=who)
                return self.json({**document.summary, "published_by": who}, status=202)

    document_page("/api/fencesets", "fence set", topics.geofences, _fence_set)
    document_page("/api/calendars", "calendar", topics.calendars, _calendar)

    @worker.app.page("/api/models")
    class Models(MaskedView):
        @guarded
        async def post(self, request: Request) -> Response:
            who = await _publisher(api, request, Permission.publish)
            # wall time, not the worker's clock: workers refuse a model dated in the future
            pub = model_body(await api.json_body(request), who=who, now=datetime.now(UTC))
            await api.publish(
                topics.models, key_of(pub), pub.model_dump_json().encode(), signed=True
            )
            log.info("model published via API", model=pub.name, version=pub.version, by=who)
            return self.json(pub.model_dump(mode="json"), status=202)
