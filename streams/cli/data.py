"""``riskloop replay`` and ``riskloop validate``: dataset files against the data standard.

``validate`` is the offline door (what would the worker dead-letter, and why, line by line);
``replay`` streams the same file into its source topic so the worker judges it for real. Both
read a CSV / CSV.gz through a mapping (``config/mappings``) or a JSONL of ready records.

Historical data and ``validate --now``: the worker judges staleness against its clock, so a
2013 export validated against today would be all ``stale_event``. For a mapped dataset the
default clock is therefore ``latest-event`` (the newest event time in the file: only records
more than ``max_event_age_days`` older than the export itself fail); a JSONL of ready records
is what a live producer would send, so its default is ``wall-clock``. Either can be forced,
or an ISO-8601 time given.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from config.settings import Settings
from schemas.errors import ConfigError, RiskLoopError, ValidationFailed
from schemas.ingest import IngestLimits
from schemas.mapping import Mapping
from schemas.reasons import REASONS
from schemas.report import ValidationReport, validate_file
from schemas.validation.timeutil import to_utc
from streams.backfill import HEADERS as backfill_headers
from streams.cli.common import fail, settings
from streams.replay import (
    Pacer,
    ReplaySummary,
    iter_replay,
    latest_event_time,
    produce_replay,
    require_topic,
    resolve_mapping,
    staleness,
    topic_for,
)

SHOWN_REJECTS = 20
"""Rejected rows listed after a replay (all are counted)."""

FileArg = Annotated[
    Path, typer.Argument(help="CSV, CSV.gz or JSONL file", exists=True, dir_okay=False)
]
SourceOpt = Annotated[
    str, typer.Option("--source", "-s", help="inspections, complaints, equipment, trucks")
]
MappingOpt = Annotated[
    str | None,
    typer.Option(help="mapping name in config/mappings or a path; default: by file name"),
]


def register(app: typer.Typer) -> None:
    """Add ``riskloop replay`` and ``riskloop validate`` to the root command."""
    app.command()(replay)
    app.command()(validate)


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _pacer(rate: str | None, fast: bool, pacing: str, speedup: float | None) -> tuple[Pacer, str]:
    """The pacer for the flags, and how it is described in the summary."""
    if fast and (rate is not None or speedup is not None or pacing != "wall-clock"):
        raise ConfigError("--as-fast-as-possible excludes --rate, --speedup and --pacing")
    if pacing == "event-time":
        if rate is not None:
            raise ConfigError("--rate applies to --pacing wall-clock, not event-time")
        x = 1.0 if speedup is None else speedup
        return Pacer("event-time", speedup=x), f"event time ×{x:g}"
    if speedup is not None:
        raise ConfigError("--speedup applies to --pacing event-time")
    if fast:
        return Pacer("none"), "as fast as possible"
    text = (rate or "1000/s").strip().removesuffix("/s")
    try:
        per_second = float(text)
    except ValueError:
        raise ConfigError(
            f"--rate wants records per second like 500 or 500/s, got {rate!r}"
        ) from None
    return Pacer("rate", rate=per_second), f"{per_second:g}/s"


def replay(
    file: FileArg,
    source: SourceOpt,
    mapping: MappingOpt = None,
    rate: Annotated[
        str | None, typer.Option(help="records per second, e.g. 500/s (default 1000/s)")
    ] = None,
    as_fast_as_possible: Annotated[bool, typer.Option(help="no pacing at all")] = False,
    pacing: Annotated[
        str,
        typer.Option(
            help="wall-clock: a fixed --rate; event-time: the data's own gaps ÷ --speedup"
        ),
    ] = "wall-clock",
    speedup: Annotated[
        float | None, typer.Option(help="event-time pacing: how many times faster than real")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="only the first N rows")] = None,
    fmt: Annotated[str, typer.Option("--format", help="wire format: json or avro")] = "json",
    sort: Annotated[
        bool, typer.Option(help="mapped files: send in event-time order (the sort_by column)")
    ] = True,
    strict: Annotated[bool, typer.Option(help="exit 1 if any row was rejected")] = False,
    dry_run: Annotated[bool, typer.Option(help="map and count, produce nothing")] = False,
    backfill: Annotated[
        bool,
        typer.Option(
            help="history: warm state and profiles, warnings marked historical, no tasks "
            "(refused when the worker would reject records as stale)"
        ),
    ] = False,
) -> None:
    """Stream a dataset file into its source topic, keyed like the topic map, and summarise.

    Event times are sent as they are; pacing only spaces the sends. Rows a mapping cannot
    turn into a record are listed with line and column and not sent; JSONL lines are sent
    byte for byte, so bad ones reach the worker's dead-letter topic. Before anything is sent
    it says how many records the worker will reject as stale (its clock, its
    RISKLOOP_MAX_EVENT_AGE_DAYS); with --backfill that is an error and nothing is sent.
    """
    try:
        if pacing not in ("wall-clock", "event-time"):
            raise ConfigError(f"--pacing is wall-clock or event-time, not {pacing!r}")
        if fmt not in ("json", "avro"):
            raise ConfigError(f"--format is json or avro, not {fmt!r}")
        wire: Literal["json", "avro"] = "avro" if fmt == "avro" else "json"
        pacer, paced = _pacer(rate, as_fast_as_possible, pacing, speedup)
        s = settings()
        topic = topic_for(s, source)
        mapped = resolve_mapping(file, source, mapping)
        console = _console()
        _say_stale(console, s, file, source, mapped, limit=limit, sort=sort, backfill=backfill)
        summary = ReplaySummary()
        items = iter_replay(
            file, source, mapped, limit=limit, sort=sort, wire_format=wire, summary=summary
        )
        if not dry_run:
            require_topic(s, topic)
        with _progress(console, limit) as progress:
            task = progress.add_task(f"{file.name} → {topic}", total=limit)

            def advance(_item: object) -> None:
                progress.update(task, completed=summary.rows)

            if dry_run:
                for item in items:
                    advance(item)
            else:
                produce_replay(
                    s,
                    topic,
                    items,
                    summary,
                    pacer=pacer,
                    on_item=advance,
                    headers=backfill_headers if backfill else None,
                )
            progress.update(task, completed=summary.rows)
    except RiskLoopError as exc:
        fail(str(exc))
    _print_replay(console, summary, topic, paced, dry_run=dry_run, mapping=mapped)
    if strict and summary.rejected:
        raise typer.Exit(1)


def _say_stale(
    console: Console,
    s: Settings,
    file: Path,
    source: str,
    mapped: Mapping | None,
    *,
    limit: int | None,
    sort: bool,
    backfill: bool,
) -> None:
    """Say up front what the worker's staleness check will refuse; a backfill of records the
    worker would refuse is an error (nothing is sent)."""
    outlook = staleness(
        iter_replay(file, source, mapped, limit=limit, sort=sort),
        datetime.now(UTC),
        s.max_event_age_days,
    )
    line = outlook.message(s.max_event_age_days)
    if line and backfill:
        raise ConfigError(f"--backfill refused: {line}")
    if line:
        console.print(f"warning: {line}", markup=False)
    if backfill:
        console.print(
            f"backfill: {outlook.total} records marked history (header riskloop-backfill): "
            "the worker warms its state and profiles, marks their warnings historical and "
            "opens no task",
            markup=False,
        )


def _progress(console: Console, total: int | None) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn() if total else TextColumn("{task.completed} rows"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _print_replay(
    console: Console,
    summary: ReplaySummary,
    topic: str,
    paced: str,
    *,
    dry_run: bool,
    mapping: object,
) -> None:
    sent = summary.yielded if dry_run else summary.delivered
    verb = "would send" if dry_run else "sent"
    via = f" via mapping {getattr(mapping, 'name', '')}" if mapping is not None else ""
    console.print(
        f"{verb} {sent} of {summary.rows} rows to {topic}{via} ({summary.bytes} bytes, "
        f"{paced}); rejected {len(summary.rejected)}",
        markup=False,
    )
    if not summary.rejected:
        return
    table = Table(title="rejected rows (not sent)")
    for column in ("line", "column", "reason", "message"):
        table.add_column(column, overflow="fold")
    for r in summary.rejected[:SHOWN_REJECTS]:
        table.add_row(str(r.line), r.column, r.reason, r.message)
    console.print(table)
    if len(summary.rejected) > SHOWN_REJECTS:
        console.print(f"… and {len(summary.rejected) - SHOWN_REJECTS} more", markup=False)


def _now(spec: str | None, file: Path, mapped: object) -> tuple[datetime, str]:
    """The clock staleness is judged against, and how it was chosen (see the module doc)."""
    from schemas.mapping import Mapping

    mapping = mapped if isinstance(mapped, Mapping) else None
    choice = spec or ("latest-event" if mapping is not None else "wall-clock")
    if choice == "wall-clock":
        return datetime.now(UTC), "wall clock"
    if choice == "latest-event":
        latest = latest_event_time(file, mapping)
        if latest is None:
            return datetime.now(UTC), "wall clock (no readable event time in the file)"
        return latest, "latest event in the file"
    try:
        return to_utc(choice, "UTC", "--now"), "given"
    except ValidationFailed:
        raise ConfigError(
            f"--now is latest-event, wall-clock or an ISO-8601 time, not {choice!r}"
        ) from None


def validate(
    file: FileArg,
    source: SourceOpt,
    mapping: MappingOpt = None,
    now: Annotated[
        str | None,
        typer.Option(
            help="clock for staleness: latest-event (default for mapped files), "
            "wall-clock (default for JSONL) or an ISO-8601 time"
        ),
    ] = None,
    max_failures: Annotated[int, typer.Option(min=0, help="failing lines listed")] = 50,
) -> None:
    """Validate a file offline exactly as the worker would; exit 1 if any line failed."""
    try:
        mapped = resolve_mapping(file, source, mapping)
        clock, why = _now(now, file, mapped)
        limits = IngestLimits.from_settings(settings())
        report = validate_file(
            file, source, mapped, limits=limits, now=clock, max_failures=max_failures
        )
    except RiskLoopError as exc:
        fail(str(exc))
    console = _console()
    s = settings()
    if why != "wall clock":  # the worker judges by its clock, which is now: say what it will do
        with contextlib.suppress(RiskLoopError):
            outlook = staleness(
                iter_replay(file, source, mapped, sort=False),
                datetime.now(UTC),
                s.max_event_age_days,
            )
            if outlook.stale:
                console.print(
                    f"warning: {outlook.message(s.max_event_age_days)} (its clock is "
                    "now, not the file's)",
                    markup=False,
                )
    console.print(f"now = {clock.isoformat()} ({why})", markup=False)
    _print_report(console, report)
    if not report.ok:
        raise typer.Exit(1)


def _print_report(console: Console, report: ValidationReport) -> None:
    counts = Table(title=f"{report.path} as {report.source}")
    for column in ("verdict", "reason", "lines", "meaning"):
        counts.add_column(column, overflow="fold")
    counts.add_row("accepted", "", str(report.passed), "")
    for reason, n in report.by_reason.most_common():
        counts.add_row("rejected", reason, str(n), REASONS.get(reason, ""))
    console.print(counts)
    if report.failures:
        lines = Table(title="failing lines")
        for column in ("line", "reason", "field", "message"):
            lines.add_column(column, overflow="fold")
        for f in report.failures:
            lines.add_row(str(f.line), f.reason, f.field, f.message)
        console.print(lines)
        if report.truncated:
            console.print(
                f"(first {len(report.failures)} of {report.failed} failing lines)", markup=False
            )
    console.print(report.summary(), markup=False)
