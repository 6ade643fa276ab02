"""``riskloop calendar``: the working-day calendar deadlines count on (loop/calendar.py).

``publish`` hot-loads a year's 放假安排 on every worker; ``status`` says, for each year, whether
deadlines rest on an official notice, the package, or a provisional calendar; ``deadline``
answers what a department asks when it disputes a 催办: when did my deadline fall, and why.
``status`` and ``deadline`` use what the workers run (shipped + published notices) when the
broker can be reached, and say so when they fall back to the shipped notices alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from infra.errors import InfraError
from loop.calendar import WorkingCalendar, shipped_calendar
from loop.deadlines import CST, deadline_of
from schemas.errors import ConfigError
from streams import publish
from streams.cli.common import console, err_console, instant, settings

app = typer.Typer(help="The working-day calendar (放假安排): publish, status, deadline.")

Offline = Annotated[
    bool, typer.Option("--offline", help="use the shipped notices only; do not ask the broker")
]


def _calendar(offline: bool) -> tuple[WorkingCalendar, str]:
    if offline:
        return shipped_calendar(), "shipped notices"
    try:
        return publish.live_calendar(settings()), "shipped + published notices"
    except InfraError as exc:
        err_console.print(f"note: {str(exc).splitlines()[0]}; using the shipped notices only")
        return shipped_calendar(), "shipped notices (broker unreachable)"


@app.command("publish")
def publish_cmd(path: Path) -> None:
    """Validate a year's notice file (YAML) and hot-load it on every worker."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    cal = publish.publish_calendar(settings(), path)
    days = sum(len(h.days()) for h in cal.holidays)
    console.print(
        f"published the {cal.year} calendar: {len(cal.holidays)} holidays ({days} days off), "
        f"{len(cal.workdays)} 调休 working days — {cal.source or path.name}"
    )


@app.command("status")
def status_cmd(offline: Offline = False) -> None:
    """For each year from last year on: official, package or provisional, and from where."""
    cal, where = _calendar(offline)
    this_year = datetime.now(UTC).astimezone(CST).year
    years = sorted({*range(this_year - 1, this_year + 3), *cal.official})
    table = Table("year", "basis", "source", title=f"working-day calendar ({where})")
    for year, basis, source in cal.status(years):
        table.add_row(str(year), basis.value, source)
    console.print(table)
    today = datetime.now(UTC).astimezone(CST).date()
    until = cal.official_until(today)
    if until is None:
        console.print(f"{today.year} has no official data: deadlines are provisional")
    else:
        left = (until - today).days + 1
        console.print(f"official data until {until.isoformat()} ({left} days left)")


@app.command("deadline")
def deadline_cmd(
    start: Annotated[str, typer.Argument(help="ISO-8601 instant, e.g. 2026-12-23T10:00:00+08:00")],
    spec: Annotated[str, typer.Argument(help="a deadline spec: 30m, 4h, 2d, 3wd")],
    offline: Offline = False,
) -> None:
    """When a deadline of SPEC started at START falls, what it rests on, and the days skipped."""
    moment = instant(start)
    cal, where = _calendar(offline)
    found = deadline_of(moment, spec, cal)
    local = found.at.astimezone(CST)
    console.print(f"deadline  {local.isoformat()} (UTC {found.at.astimezone(UTC).isoformat()})")
    console.print(f"basis     {found.basis.value} ({where})")
    if found.explain:
        console.print("not counted:")
        for line in found.explain:
            console.print(f"  {line}")
    if found.basis.value == "provisional":
        console.print(
            "provisional: the year's 放假安排 is not loaded yet; open tasks are recounted "
            "when it is (`riskloop calendar publish`)"
        )
