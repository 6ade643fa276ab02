"""``/reports`` (研判): the daily or weekly report with its charts, printable, and as a PDF.

The numbers come read-only from the SQL task store (``console.reports``), restricted to what
the person may read (``console.reports.scope``: the risk centre everything, anyone else their
department's tasks and their regions' warnings). The page and ``/reports/pdf`` are built from
one :class:`Report`, which is also what ``riskloop report`` writes.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING

from aiohttp import web
from markupsafe import Markup
from sqlalchemy.engine import Engine

from console.auth import require
from console.keys import GATE, SETTINGS
from console.render import render
from console.reports import charts, pdf
from console.reports.generate import generate, period_of
from console.reports.period import BadPeriod, today
from console.reports.scope import scope_of
from console.reports.text import (
    MODEL_COLUMN,
    department_rows,
    enterprise_rows,
    precision_rows,
    title_of,
)
from loop.jurisdiction import Permission
from sinks.errors import StoreError
from sinks.sql import make_engine, sql_url

if TYPE_CHECKING:
    from console.reports.records import Report

ENGINE = web.AppKey("reports_engine", Engine)


async def page(request: web.Request) -> web.Response:
    """The report the query names (default: today's daily report)."""
    kind, when = _which(request)
    report = await _report(request, kind, when)
    if isinstance(report, web.Response):
        return report
    return render(
        request,
        "reports.html",
        kind=kind,
        when=when,
        report=report,
        title=title_of(report),
        charts=_charts(report),
        departments=department_rows(report),
        top_risk=enterprise_rows(report.top_risk),
        top_complaints=enterprise_rows(report.top_complaints),
        precision=precision_rows(report.precision),
        model_precision=precision_rows(report.model_precision, MODEL_COLUMN),
    )


async def export(request: web.Request) -> web.StreamResponse:
    """The same report as a PDF download."""
    kind, when = _which(request)
    report = await _report(request, kind, when)
    if isinstance(report, web.Response):
        return report
    body = await asyncio.to_thread(pdf.render, report)
    name = f"riskloop-{report.period.kind}-{report.period.label}.pdf"
    return web.Response(
        body=body,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _which(request: web.Request) -> tuple[str, str]:
    require(request, Permission.read)
    kind = request.query.get("kind", "daily")
    when = request.query.get("when", "").strip() or today().isoformat()
    return kind, when[:40]


async def _report(request: web.Request, kind: str, when: str) -> Report | web.Response:
    """The report, or the page saying why there is none (a bad date: 400; the store: 503)."""
    try:
        which = period_of(kind, when)
        scope = scope_of(request["person"], centre=request.app[GATE].centre)
        return await asyncio.to_thread(partial(generate, _engine(request.app), which, scope))
    except (BadPeriod, StoreError) as exc:
        status = 400 if isinstance(exc, BadPeriod) else 503
        return render(
            request,
            "reports.html",
            status=status,
            error=str(exc),
            kind=kind,
            when=when,
            report=None,
        )


def _engine(app: web.Application) -> Engine:
    return app[ENGINE]


def setup(app: web.Application) -> None:
    """One engine per console (it connects on first use: PostgreSQL or SQLite)."""
    app[ENGINE] = make_engine(sql_url(app[SETTINGS]))

    async def dispose(app: web.Application) -> None:
        app[ENGINE].dispose()

    app.on_cleanup.append(dispose)


def _charts(report: Report) -> list[Markup]:
    """The SVG charts; ``charts.bar_chart`` escapes every label, so the markup is ours."""
    return [
        Markup(charts.bar_chart(report.by_level, title="预警按等级", colours=charts.LEVEL_COLOURS)),
        Markup(charts.bar_chart(report.by_source, title="预警按来源")),
        Markup(charts.bar_chart(report.by_region, title="预警按地区")),
    ]


def routes() -> list[web.RouteDef]:
    """``/reports`` (研判) and its PDF export, ``/reports/pdf``."""
    return [web.get("/reports", page), web.get("/reports/pdf", export)]
