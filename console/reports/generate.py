"""One call from "which report" to the :class:`Report`: period, store read, aggregation.

The console page and ``riskloop report`` both call :func:`generate`, which is what makes the
page and the PDF written at the terminal the same report.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from console.reports import aggregate, period
from console.reports.store import load_history

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from console.reports.records import Period, Report
    from console.reports.scope import Scope

KINDS = {"daily": period.daily, "weekly": period.weekly}


def period_of(kind: str, when: str) -> Period:
    """``daily`` + ``YYYY-MM-DD`` or ``weekly`` + ``YYYY-Www`` / a date in the week."""
    if kind not in KINDS:
        raise period.BadPeriod(f"report kind {kind[:20]!r}: daily or weekly")
    return KINDS[kind](when)


def generate(engine: Engine, which: Period, scope: Scope, *, now: datetime | None = None) -> Report:
    """The report of ``which`` over the rows ``scope`` may read."""
    at = now or datetime.now(UTC)
    history = load_history(engine, which, scope)
    return aggregate.build(history, which, now=at, region_names=region_names())


@cache
def region_names() -> dict[str, str]:
    """Region code → name, from the district outlines shipped with the console (the map's
    base): ``330100`` → 杭州市, ``110105`` → 朝阳区. Empty if the file is missing."""
    try:
        text = resources.files("console").joinpath("static/map/regions.json").read_text("utf-8")
    except FileNotFoundError:
        return {}
    names: dict[str, str] = json.loads(text)
    return names
