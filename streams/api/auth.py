"""Who is asking, for every ``/api/*`` request: ``await auth.require(request, permission)``.

The decision itself is pure (``loop.identity.decide``: token → person or refusal, and
``loop.jurisdiction``: what that person may do); this module only does what needs I/O: the
``Authorization`` header, and the trusted keys — a JWKS file (re-read when it changes) or an
https URL (PyJWT's ``PyJWKClient``, cached five minutes), read in a thread so the event loop
never waits on a disk or a network. Keys that cannot be read are a 503 (the worker's
problem, not the client's), never a 401 a person would take for a bad token.

An endpoint another module adds adopts it in one line: ``who = await api.auth.require(request,
Permission.operate)`` before it reads the body; the 401/403 carries the reason.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import jwt

from loop.identity import Policy, Principal, Refusal, decide
from loop.jurisdiction import Forbidden, Permission
from loop.jurisdiction import require as permitted
from streams.api.bodies import ApiError
from streams.api.request_log import log_request
from streams.logs import get_logger

if TYPE_CHECKING:
    from faust.web import Request

    from config.settings import Settings

log = get_logger(__name__)

URL_CACHE_SECONDS = 300
"""How long the keys of a JWKS URL are reused (an SSO rotating keys publishes the new one ahead)."""


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None if there is none.

    >>> bearer("Bearer abc.def.ghi"), bearer("Basic abc"), bearer(None)
    ('abc.def.ghi', None, None)
    """
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


class KeySource:
    """The trusted keys, from ``settings.jwks_source``: a file path or an https URL."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._client = (
            jwt.PyJWKClient(source, cache_jwk_set=True, lifespan=URL_CACHE_SECONDS, timeout=10)
            if source.startswith("https://")
            else None
        )
        self._cached: tuple[tuple[int, int], jwt.PyJWKSet] | None = None
        self._lock = threading.Lock()

    def keys(self) -> jwt.PyJWKSet:
        """The key set now (blocking: call it in a thread); ApiError 503 if unreadable."""
        try:
            if self._client is not None:
                return self._client.get_jwk_set()
            return self._from_file(Path(self.source))
        except (OSError, ValueError, jwt.PyJWKClientError, jwt.PyJWKSetError) as exc:
            log.warning("trusted keys unavailable", jwks=self.source, error=str(exc)[:300])
            raise ApiError(503, "the API's trusted keys (JWKS) cannot be read") from exc

    def _from_file(self, path: Path) -> jwt.PyJWKSet:
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if self._cached is None or self._cached[0] != stamp:
                self._cached = (stamp, jwt.PyJWKSet.from_json(path.read_text(encoding="utf-8")))
            return self._cached[1]


def policy_of(settings: Settings) -> Policy:
    """What a token must claim, from the auth settings (the worker's API and the console)."""
    return Policy(
        issuer=settings.auth.issuer,
        audience=settings.auth.audience,
        algorithms=settings.auth.algorithms,
        leeway=settings.auth.leeway,
    )


class Auth:
    """Authentication and the coarse permission check, for the views of one worker."""

    def __init__(self, settings: Settings, centre: str) -> None:
        self.centre = centre
        self.policy = policy_of(settings)
        self.source = KeySource(settings.jwks_source)

    async def principal(self, request: Request) -> Principal:
        """The person the request's token names; ApiError 401 (or 403: bad claims) otherwise."""
        token = bearer(request.headers.get("Authorization"))
        if token is None:
            raise ApiError(401, "missing bearer token (Authorization: Bearer <JWT>)")
        keys = await asyncio.to_thread(self.source.keys)
        outcome = decide(token, keys, self.policy)
        if isinstance(outcome, Refusal):
            log_request(
                log.warning,
                "API request refused",
                request,
                status=outcome.status,
                reason=outcome.reason,
            )
            raise ApiError(outcome.status, outcome.reason)
        return outcome

    async def require(self, request: Request, permission: Permission) -> Principal:
        """The person, if one of their roles grants ``permission``; 401/403 otherwise."""
        who = await self.principal(request)
        try:
            permitted(who, permission, centre=self.centre)
        except Forbidden as exc:
            log_request(
                log.warning,
                "API request forbidden",
                request,
                sub=who.sub,
                permission=permission.value,
            )
            raise ApiError(403, str(exc)) from exc
        return who
