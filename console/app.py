"""``make_app(settings)``: the console as an aiohttp application; ``serve``: run it.

The middlewares run outermost first: headers that keep the pages to themselves (a strict
Content-Security-Policy: only our own scripts and styles, no inline script, no framing), then
errors (anything unexpected is logged with its traceback and shown as a plain 500 page), then
who is asking (``console.auth``).
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from console import auth
from console.backend import Backend, BackendError
from console.keys import BACKEND, GATE, LIVE, LOOP, RULEBOOK, SETTINGS, TEMPLATES
from console.live import LiveFeed
from console.pages import PAGES
from console.render import environment, problem
from console.rulebook import Rulebook
from loop.loop_config import load_loop_config
from schemas.evidence import EVIDENCE_FILES_MAX
from streams.logs import get_logger

if TYPE_CHECKING:
    from config.settings import Settings

log = get_logger(__name__)

STATIC_DIR = Path(__file__).parent / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@web.middleware
async def security_headers(request: web.Request, handler: auth.Handler) -> web.StreamResponse:
    """Every answer carries the strict headers (scripts and styles from the console only,
    no framing), error pages included: a 404 is a page a browser renders too.
    """
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(SECURITY_HEADERS)
        raise
    if not response.prepared:  # a stream (SSE) has sent its headers already
        response.headers.update(SECURITY_HEADERS)
    return response


@web.middleware
async def errors(request: web.Request, handler: auth.Handler) -> web.StreamResponse:
    """A page never shows a traceback: unexpected failures are logged and answered plainly."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except BackendError as exc:  # a page that did not catch it: still the worker's words
        return problem(request, exc.status if exc.status >= 400 else 502, "请求失败", exc.message)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("console request failed", path=request.path, method=request.method)
        return problem(request, 500, "内部错误", "控制台处理该请求时出错（已记录日志）。")


def upload_limit(settings: Settings) -> int:
    """Largest request body: a disposal's evidence files (``EVIDENCE_FILES_MAX`` of at most
    ``evidence.max_bytes`` each; aiohttp spools file parts to disk) and its form, or 1 MiB."""
    return max(1024 * 1024, settings.evidence.max_bytes * EVIDENCE_FILES_MAX + 64 * 1024)


def make_app(settings: Settings) -> web.Application:
    """The console: its pages, login, static files, and the backend client to the worker."""
    app = web.Application(
        middlewares=[security_headers, errors, auth.middleware],
        client_max_size=upload_limit(settings),
    )
    app[SETTINGS] = settings
    app[TEMPLATES] = environment()
    app[LOOP] = load_loop_config(settings=settings)
    app[GATE] = auth.Gate(settings, app[LOOP].centre)
    app[BACKEND] = Backend(settings.console_worker_url, settings.console.backend_timeout)
    app.router.add_get("/ready", ready)
    app.router.add_routes(auth.routes())
    for page in PAGES:
        app.router.add_routes(page.routes())
        if hasattr(page, "setup"):  # a page with resources of its own (an engine, a consumer)
            page.setup(app)
    app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False)
    app[LIVE] = LiveFeed(settings, app[GATE].centre)
    app[RULEBOOK] = Rulebook(settings.rule_packs_dir)
    app.on_startup.append(_start_backend)
    app.on_shutdown.append(_stop_live)
    app.on_cleanup.append(_close_backend)
    return app


async def _start_backend(app: web.Application) -> None:
    await app[BACKEND].start()
    await app[LIVE].start()


async def _stop_live(app: web.Application) -> None:
    await app[LIVE].stop()


async def _close_backend(app: web.Application) -> None:
    await app[BACKEND].close()


async def ready(request: web.Request) -> web.Response:
    """200 once the live feed reads the alerts topic from its end (what comes next is pushed);
    no login needed: for a supervisor, and for tests waiting for the console."""
    if not request.app[LIVE].positioned.is_set():
        return web.Response(status=503, text="starting: the live feed is not reading yet")
    return web.Response(text="ready")


def _address(settings: Settings) -> str:
    host = settings.console.host
    return f"http://{f'[{host}]' if ':' in host else host}:{settings.console.port}/"


async def serve(settings: Settings, *, ready: str = "") -> None:
    """Listen until SIGINT/SIGTERM; print the address once the port is bound (OSError if not)."""
    runner = web.AppRunner(make_app(settings), access_log=None, handle_signals=False)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await web.TCPSite(runner, settings.console.host, settings.console.port).start()
        print(f"RiskLoop 控制台 console: {_address(settings)}{ready}", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()
