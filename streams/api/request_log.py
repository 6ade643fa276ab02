"""How the API logs a request it refused or failed: the event, then the request's path and
method, then what went wrong.

One shape for every such line (the token check's 401/403, the jurisdiction's 403, a 5xx),
so that a log store finds every refusal of one endpoint by the same two fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from faust.web import Request


def log_request(say: Callable[..., Any], event: str, request: Request, **fields: Any) -> None:
    """Log ``event`` about ``request`` with ``fields``; ``say`` is the logger's method of the
    wanted level (the caller's logger, so the line keeps its module's name)."""
    say(event, path=request.url.path, method=request.method, **fields)
