"""Replay recorded events offline through packs: how often each rule fires, who gets the work.

Input is JSON Lines, one ``{"source": ..., "event": {...}}`` per line, in recording order.
Absence timers are ticked on the replay's own event-time clock, so offline devices show up
without waiting for wall-clock time. Task load counts distinct warnings (rule, group key), as
the warning stage would merge repeated hits into one task.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rules.compiler import CompiledPack
from rules.durations import parse_time
from rules.engine import RuleEngine
from rules.hit import RuleHit
from schemas.errors import RiskLoopError


@dataclass
class BacktestReport:
    """What a replay produced."""

    events: int = 0
    bad_lines: list[str] = field(default_factory=list)
    hits: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(rule id, mode) → hits."""
    warnings: Counter[str] = field(default_factory=Counter)
    """rule id → distinct (group key) warnings."""
    tasks: Counter[str] = field(default_factory=Counter)
    """department → distinct warnings of active rules that make a task."""
    levels: dict[str, str] = field(default_factory=dict)
    first_hits: list[RuleHit] = field(default_factory=list)

    def rule_rows(self) -> list[tuple[str, str, int, int]]:
        """(rule id, level, active hits, shadow hits) sorted by rule id."""
        ids = sorted({r for r, _ in self.hits} | set(self.levels))
        return [
            (r, self.levels.get(r, ""), self.hits[(r, "active")], self.hits[(r, "shadow")])
            for r in ids
        ]


def backtest(
    packs: Iterable[CompiledPack],
    lines: Iterable[str],
    tick_every: int = 300,
    keep_hits: int = 20,
) -> BacktestReport:
    """Replay ``lines`` through the packs; tick absence timers every ``tick_every`` event-seconds."""
    engine = RuleEngine(packs)
    report = BacktestReport()
    for pack in engine.packs:
        for rule in pack.rules:
            report.levels[rule.id] = rule.spec.level.value
    state: dict[str, Any] = {}
    seen: set[tuple[str, str]] = set()
    clock: float | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            source, event = record["source"], record["event"]
            at = parse_time(event["event_time"])
        except (ValueError, KeyError, TypeError, RiskLoopError) as exc:
            report.bad_lines.append(f"line {number}: {type(exc).__name__}: {exc}")
            continue
        hits: list[RuleHit] = []
        if clock is None or at - clock >= tick_every:
            # tick before the event: a silence that ran out before it must fire first
            clock = at if clock is None else max(clock, at)
            hits += engine.tick(clock, state)
        try:
            hits += engine.evaluate(source, event, state)
        except (ValueError, KeyError, TypeError, RiskLoopError) as exc:
            report.bad_lines.append(f"line {number}: {type(exc).__name__}: {exc}")
            continue
        report.events += 1
        for hit in hits:
            _count(report, hit, seen, keep_hits)
    return report


def _count(report: BacktestReport, hit: RuleHit, seen: set[tuple[str, str]], keep: int) -> None:
    report.hits[(hit.rule_id, hit.mode)] += 1
    if len(report.first_hits) < keep:
        report.first_hits.append(hit)
    warning = (hit.rule_id, f"{hit.entity}|{hit.group_key}")
    if warning in seen:
        return
    seen.add(warning)
    report.warnings[hit.rule_id] += 1
    if hit.mode == "active" and hit.task is not None:
        report.tasks[hit.task.department] += 1
