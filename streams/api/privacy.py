"""Personal data in API answers: every JSON answer goes through the masking policy.

Every answer starts ``masked`` (addresses to the road, complainants' numbers and names
starred). A handler that has checked who asks may widen its own answer with :func:`answer_as`:
``GET /api/tasks/{id}`` gives ``full`` (house-number addresses) to the handlers and leads of
the department holding the task, there and only there (``loop.jurisdiction.task_view``). The
masking itself stays in :func:`schemas.validation.pii.mask_for`, so a view is all a role
changes.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from faust.web import Response, View

from schemas.validation.pii import View as PiiView
from schemas.validation.pii import mask_for

_VIEW: ContextVar[PiiView] = ContextVar("pii_view", default="masked")


def reset_view() -> None:
    """Mask the next answer: what any caller may see before anything is known of them (a
    refusal, a 404, a list)."""
    _VIEW.set("masked")


def answer_as(view: PiiView) -> None:
    """Mask the answer of the request being handled for ``view`` (the task's holder: ``full``),
    decided by the handler after its checks. The view is a context variable of the task
    handling the request, which aiohttp may reuse for a keep-alive connection's next request:
    ``streams.api.service.guarded`` resets it before and after every request."""
    _VIEW.set(view)


class MaskedView(View):
    """A Faust view whose JSON answers are masked for the caller's view, whatever the handler
    put in them (a table value, a store row, a profile): nothing reaches a client unmasked."""

    def json(self, value: Any, **kwargs: Any) -> Response:
        """Faust's JSON answer, masked for the caller's view first."""
        return super().json(mask_for(_VIEW.get(), value), **kwargs)
