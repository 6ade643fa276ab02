"""Who uses the console: login with a token, a cookie, the middleware, CSRF, permissions.

A person logs in at ``/login`` by pasting the JWT ``riskloop users token`` mints (or the
province's SSO issues): the very token the worker's API takes, checked here with the same code
(``loop.identity.decide`` over ``streams.api.auth.KeySource``'s keys), so the console never
holds a password or a second idea of who someone is. The token is kept in an HttpOnly,
SameSite=Strict cookie (scripts cannot read it, other sites cannot send it) and handed to the
worker with every backend call: the worker decides and audits as that person.

Every request but ``/login`` and ``/static/`` needs a valid token: the middleware puts the
:class:`~loop.identity.Principal` at ``request["person"]`` and the raw token at
``request["token"]``; without one a page redirects to ``/login`` (a form post gets a 401 page).
Every POST carries a CSRF token (double-submit: a random cookie and the same value in the form
field ``csrf_token`` or the ``X-CSRF-Token`` header htmx sends), compared in constant time
before any handler runs; SameSite=Strict alone would leave older browsers open.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from aiohttp import web

from console.keys import GATE, SETTINGS
from console.render import html, problem, render
from loop.identity import Principal, Refusal, decide
from loop.jurisdiction import Forbidden, Permission
from loop.jurisdiction import require as permitted
from streams.api.auth import KeySource, policy_of
from streams.api.bodies import ApiError
from streams.logs import get_logger

if TYPE_CHECKING:
    from config.settings import Settings

log = get_logger(__name__)

TOKEN_COOKIE = "riskloop_console_token"
CSRF_COOKIE = "riskloop_console_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
PUBLIC_PREFIXES = ("/static/",)
PUBLIC_PATHS = frozenset({"/login", "/ready"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_TOKEN_CHARS = 8192
"""A pasted token longer than this is refused before it is parsed (JWTs here are ~600)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Gate:
    """The keys the tokens must be signed with and what they must claim (the worker's own)."""

    def __init__(self, settings: Settings, centre: str) -> None:
        self.centre = centre
        self.policy = policy_of(settings)
        self.source = KeySource(settings.jwks_source)

    async def person(self, token: str | None) -> Principal | Refusal:
        """The person ``token`` names, or why not (keys read in a thread: a file or an URL)."""
        if token is not None and len(token) > MAX_TOKEN_CHARS:
            return Refusal(401, "the token is too long to be a JWT")
        try:
            keys = await asyncio.to_thread(self.source.keys)
        except ApiError as exc:
            return Refusal(503, exc.message)
        return decide(token, keys, self.policy)


def safe_next(value: str | None) -> str:
    """Where to go after login: a path on this site only (no ``//host``, no scheme).

    >>> safe_next("/warnings?level=red"), safe_next("//evil.example/"), safe_next("http://x")
    ('/warnings?level=red', '/', '/')
    >>> safe_next("/\\\\evil.example"), safe_next(None)
    ('/', '/')
    """
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ch in value for ch in "\r\n\x00") or len(value) > 2000:
        return "/"
    return value


def csrf_matches(cookie: str | None, submitted: str | None) -> bool:
    """The double-submit check: both present, equal, compared in constant time.

    >>> csrf_matches("abc", "abc"), csrf_matches("abc", "abd"), csrf_matches(None, None)
    (True, False, False)
    """
    if not cookie or not submitted:
        return False
    return hmac.compare_digest(cookie.encode(), submitted.encode())


def require(request: web.Request, permission: Permission) -> Principal:
    """The person, if one of their roles grants ``permission``; else a 403 page with the reason."""
    who: Principal = request["person"]
    try:
        permitted(who, permission, centre=request.app[GATE].centre)
    except Forbidden as exc:
        raise web.HTTPForbidden(
            text=html(request, "problem.html", title="无权访问", reason=str(exc)),
            content_type="text/html",
        ) from exc
    return who


def _cookie(
    response: web.StreamResponse, settings: Settings, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=settings.console.cookie_secure,
    )


async def _submitted_csrf(request: web.Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()  # aiohttp keeps it: the handler reads the same form
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """CSRF first (before any handler can act), then the person; pages get both."""
    cookie = request.cookies.get(CSRF_COOKIE)
    request["csrf"] = cookie or secrets.token_urlsafe(32)
    if request.method not in SAFE_METHODS and not csrf_matches(
        cookie, await _submitted_csrf(request)
    ):
        log.warning("console request without a valid CSRF token", path=request.path)
        return problem(
            request,
            403,
            "请求被拒绝",
            "表单缺少有效的 CSRF 令牌（页面可能已过期）：请刷新页面后重试。",
        )
    response = await _authenticated(request, handler)
    if cookie is None:
        _cookie(response, request.app[SETTINGS], CSRF_COOKIE, request["csrf"], None)
    return response


async def _authenticated(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in PUBLIC_PATHS or request.path.startswith(PUBLIC_PREFIXES):
        return await handler(request)
    token = request.cookies.get(TOKEN_COOKIE)
    outcome = (
        await request.app[GATE].person(token)
        if token is not None
        else Refusal(401, "not logged in")  # no keys needed to send a stranger to /login
    )
    if isinstance(outcome, Refusal):
        if outcome.status == 503:
            return problem(request, 503, "暂时无法登录", outcome.reason)
        if request.method in SAFE_METHODS:
            query = {"next": request.path_qs}
            if token is not None:  # the reason is logged, not put in a URL anyone can forge
                log.info("console session refused", reason=outcome.reason)
                query["expired"] = "1"
            raise web.HTTPSeeOther(f"/login?{urlencode(query)}")
        return problem(request, 401, "需要登录", f"请重新登录：{outcome.reason}")
    request["person"] = outcome
    request["token"] = token
    return await handler(request)


async def login_form(request: web.Request) -> web.Response:
    """``GET /login``: the token form. ``expired=1`` (set when a stored token stopped
    passing) says why the person is back, without the reason in a URL anyone can forge.
    """
    expired = request.query.get("expired") == "1"
    return render(
        request,
        "login.html",
        next=safe_next(request.query.get("next")),
        error="登录已失效（令牌过期或不再受信任），请重新登录。" if expired else None,
    )


async def login(request: web.Request) -> web.StreamResponse:
    """Check the pasted token like the worker will; keep it in the cookie, or say why not."""
    form = await request.post()
    raw = form.get("token")
    token = raw.strip() if isinstance(raw, str) else ""
    target = safe_next(form.get("next") if isinstance(form.get("next"), str) else None)  # type: ignore[arg-type]
    outcome = await request.app[GATE].person(token or None)
    if isinstance(outcome, Refusal):
        log.info("console login refused", reason=outcome.reason)
        return render(
            request,
            "login.html",
            status=outcome.status,
            next=target,
            error=f"无法登录：{outcome.reason}",
        )
    expires = token_expiry(token)
    response = see_other(target)
    settings = request.app[SETTINGS]
    _cookie(response, settings, TOKEN_COOKIE, token, max(1, expires - int(time.time())))
    _cookie(response, settings, CSRF_COOKIE, secrets.token_urlsafe(32), None)  # a new session
    log.info("console login", sub=outcome.sub)
    return response


def token_expiry(token: str) -> int:
    """A verified token's ``exp`` (``decide`` checked it is there), in Unix seconds."""
    import jwt

    exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    return int(exp) if isinstance(exp, int | float) else int(time.time()) + 3600


async def logout(request: web.Request) -> web.StreamResponse:
    """``POST /logout``: forget the token cookie. A POST, so the CSRF check guards it and
    another site cannot log a person out with a link.
    """
    response = see_other("/login")
    response.del_cookie(TOKEN_COOKIE, path="/")
    return response


def see_other(location: str) -> web.Response:
    """A 303 to ``location`` that can carry cookies (a raised HTTPException cannot, in aiohttp 3)."""
    return web.Response(status=303, headers={"Location": location})


def routes() -> list[web.RouteDef]:
    """``/login`` (the form, and the token it posts) and ``/logout``."""
    return [
        web.get("/login", login_form),
        web.post("/login", login),
        web.post("/logout", logout),
    ]
