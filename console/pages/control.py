"""``/control`` (模型与规则): what every worker runs, what it refused, and how it fares.

For modellers, operators and the risk centre (``Permission.oversee``): each rule pack, model,
fence set and year's calendar with the version each worker runs and, in red, a later refusal
(a pack or model that did not build, a record with a bad signature) or a model the drift
monitor flagged — read from the workers' signed answers on ``control.status``
(``streams.control_status``), the record a worker cannot be talked out of; then this week's
rule and model-version precision from the departments' dispositions (the weekly report's own
tables, ``console.reports``), and the tested presets a modeller can publish by name. The page
only reads; publishing stays with ``riskloop rules|models publish`` and the API, which check and
sign.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING

from aiohttp import web
from confluent_kafka import KafkaException

from console.auth import require
from console.keys import GATE, SETTINGS
from console.pages.reports import ENGINE
from console.render import render
from console.reports.generate import generate, period_of
from console.reports.period import today
from console.reports.scope import scope_of
from console.reports.text import MODEL_COLUMN, precision_rows
from loop.jurisdiction import Permission
from models.presets import PRESETS
from schemas.errors import RiskLoopError
from sinks.errors import StoreError
from streams.control_status import summarise
from streams.publish import status_records

if TYPE_CHECKING:
    from console.reports.records import Report
    from streams.control_status import ControlRow


async def page(request: web.Request) -> web.Response:
    """The workers' versions and refusals, this week's precision, the presets."""
    require(request, Permission.oversee)
    settings = request.app[SETTINGS]
    rows: list[ControlRow] = []
    errors: list[str] = []
    try:
        records = await asyncio.to_thread(lambda: [r for _, r in status_records(settings)])
        rows = summarise(records)
    except (KafkaException, RiskLoopError, OSError) as exc:
        errors.append(f"读取 control.status 失败：{exc}")
    report: Report | None = None
    try:
        week = period_of("weekly", today().isoformat())
        scope = scope_of(request["person"], centre=request.app[GATE].centre)
        report = await asyncio.to_thread(partial(generate, request.app[ENGINE], week, scope))
    except StoreError as exc:
        errors.append(f"读取任务库失败：{exc}")
    return render(
        request,
        "control.html",
        rows=rows,
        refused=sum(1 for r in rows if r.event == "refused"),
        errors=errors,
        report=report,
        precision=precision_rows(report.precision) if report else [],
        model_precision=precision_rows(report.model_precision, MODEL_COLUMN) if report else [],
        presets=sorted(PRESETS.values(), key=lambda p: p.name),
    )


def routes() -> list[web.RouteDef]:
    """``/control`` (模型与规则)."""
    return [web.get("/control", page)]
