"""``riskloop report daily|weekly``: the console's report (研判) as a PDF, from the task store.

The same :func:`console.reports.generate.generate` as the console's report page, so the file
written here and the one the page exports are the same report. The command line reads the
whole store: whoever can run it can read the store's database anyway.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streams.cli.common import console, settings

app = typer.Typer(help="Reports (研判): the daily and weekly report as PDF.", no_args_is_help=True)

_PdfOut = Annotated[
    Path | None,
    typer.Option(
        help="the PDF to write; default report-PERIOD.pdf (report-2026-12-03.pdf, report-2026-W49.pdf)"
    ),
]


def register(root: typer.Typer) -> None:
    """Add ``riskloop report …`` to the root command."""
    root.add_typer(app, name="report")


@app.command("daily")
def daily(
    date: Annotated[
        str | None, typer.Option(help="the day, YYYY-MM-DD (Beijing); default today")
    ] = None,
    out: _PdfOut = None,
) -> None:
    """Write the daily report of one day (Beijing time) as a PDF."""
    _write("daily", date, out)


@app.command("weekly")
def weekly(
    week: Annotated[
        str | None, typer.Option(help="YYYY-Www, or a date in the week; default this week")
    ] = None,
    out: _PdfOut = None,
) -> None:
    """Write the weekly report of one ISO week (Monday–Sunday, Beijing time) as a PDF."""
    _write("weekly", week, out)


def _write(kind: str, when: str | None, out: Path | None) -> None:
    from console.reports import pdf
    from console.reports.generate import generate, period_of
    from console.reports.period import today
    from console.reports.scope import EVERYTHING
    from console.reports.text import title_of
    from sinks.sql import SqlStore

    which = period_of(kind, when or today().isoformat())
    store = SqlStore.from_settings(settings())
    try:
        report = generate(store.engine, which, EVERYTHING)
    finally:
        store.close()
    target = out or Path(f"report-{which.label}.pdf")
    target.write_bytes(pdf.render(report))
    console.print(
        f"{title_of(report)}: {report.warnings_total} warnings, {report.tasks.opened} tasks "
        f"opened, {report.tasks.disposed} disposed, {report.tasks.overdue} overdue → {target}",
        markup=False,
    )
