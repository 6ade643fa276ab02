"""``rules backtest`` on a dataset file: read through its mapping, validated as the worker does.

The shipped datasets are CSV files with a mapping each (``schemas/mappings``); the backtest read
only JSON Lines and stopped with a traceback on the Chicago file. Here rows come from the same
reader as ``riskloop replay`` and are validated like the worker's ingest, except that each
record is judged against its own time (a 2011 inspection is history here, not a stale event),
then replayed through the packs, with truck fixes through the shipped fence sets
(``rules.backtest.backtest_records``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from config.settings import PROJECT_ROOT
from rules.backtest import BacktestReport, backtest_records
from schemas.errors import ValidationFailed
from schemas.ingest import IngestLimits, decode_source
from streams.replay import ReplaySummary, iter_replay, resolve_mapping

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from rules.compiler import CompiledPack

FENCES = PROJECT_ROOT / "config" / "geofences"


def backtest_dataset(
    packs: list[CompiledPack],
    path: Path,
    source: str,
    mapping: str | None = None,
    limit: int | None = None,
    tick_every: int = 300,
    keep_hits: int = 20,
) -> BacktestReport:
    """The backtest of the first ``limit`` rows of ``path``; rows that fail are in
    ``bad_lines`` with their line and reason, as ``riskloop validate`` names them."""
    from loop.routing import load_table
    from streams.runtime import shipped_fence_sets

    chosen = resolve_mapping(path, source, mapping)
    summary = ReplaySummary()
    rejected: list[str] = []
    limits = IngestLimits()

    def records() -> Iterator[tuple[int, str, Any]]:
        for item in iter_replay(path, source, chosen, limit=limit, summary=summary):
            now = (item.event_time or datetime.now(UTC)) + timedelta(minutes=1)
            try:
                record = decode_source(source, item.value, limits=limits, now=now)
            except ValidationFailed as exc:
                rejected.append(f"line {item.line}: {exc.reason}: {exc}")
                continue
            yield item.line, source, record

    fences = shipped_fence_sets(FENCES) if source == "trucks" else []
    report = backtest_records(
        packs,
        records(),
        fence_sets=fences,
        routing=load_table(),
        tick_every=tick_every,
        keep_hits=keep_hits,
    )
    report.bad_lines[:0] = [
        f"line {r.line}: {r.reason}: {r.message}" for r in summary.rejected
    ] + rejected
    return report
