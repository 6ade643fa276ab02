"""Personal data in API answers: every JSON answer goes through the masking policy.

Which view a caller gets is one decision, :func:`view_of`: today every caller gets ``masked``
(addresses to the road, complainants' numbers and names starred). Once requests carry an
identity, the department handling a task gets ``full`` (house-number addresses) there and only
there; the masking itself stays in :func:`schemas.validation.pii.mask_for`, so a view is all a
role changes.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from faust.web import Request, Response, View

from schemas.validation.pii import View as PiiView
from schemas.validation.pii import mask_for

_VIEW: ContextVar[PiiView] = ContextVar("pii_view", default="masked")


def view_of(request: Request) -> PiiView:
    """The view ``request``'s caller may see; ``masked`` until roles are wired to it."""
    return "masked"


def bind_view(request: Request) -> None:
    """Remember the caller's view for the answer built while handling ``request``."""
    _VIEW.set(view_of(request))


class MaskedView(View):
    """A Faust view whose JSON answers are masked for the caller's view, whatever the handler
    put in them (a table value, a store row, a profile): nothing reaches a client unmasked."""

    def json(self, value: Any, **kwargs: Any) -> Response:
        """Faust's JSON answer, masked for the caller's view first."""
        return super().json(mask_for(_VIEW.get(), value), **kwargs)
