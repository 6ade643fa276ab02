"""Replay recorded events offline through packs: how often each rule fires, who gets the work.

Input is JSON Lines, one ``{"source": ..., "event": {...}}`` per line, in recording order, or
(:func:`backtest_records`) a shipped dataset read through its mapping and validated as the
worker validates it, with muck-truck GPS fixes run through the fence sets as the worker runs
them (the truck rules fire on those detections, ``truck_detections``).
Absence timers are ticked on the replay's own event-time clock, so offline devices show up
without waiting for wall-clock time. Task load counts distinct warnings (rule, group key), as
the warning stage would merge repeated hits into one task.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rules.engine import RuleEngine
from schemas.durations import parse_time
from schemas.errors import RiskLoopError
from schemas.records import TruckFix

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from rules.compiler import CompiledPack
    from schemas.hits import RuleHit


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
    by_month: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(YYYY-MM of the hit, department) → new task-making warnings: the load over time."""
    detections: Counter[str] = field(default_factory=Counter)
    """geo detection kind → count (muck-truck fixes through the fence sets)."""
    route: Any = None
    """A routing table (loop.routing): tasks counted by routed department, not the default."""

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
    report = _report(engine)
    return _replay(engine, report, _parsed(lines, report), [], tick_every, keep_hits)


_Item = tuple[int, str, dict[str, Any], float, Any]
"""One event to replay: (line, source, event as the rules read it, epoch seconds, the validated
record when there is one: a ``TruckFix`` also goes through the fence sets)."""


def _report(engine: RuleEngine, routing: Any = None) -> BacktestReport:
    report = BacktestReport(route=routing)
    for pack in engine.packs:
        for rule in pack.rules:
            report.levels[rule.id] = rule.spec.level.value
    return report


def _parsed(lines: Iterable[str], report: BacktestReport) -> Iterator[_Item]:
    """The JSON Lines as events; a line that is not one is a bad line, and the replay goes on."""
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
        yield number, source, event, at, None


def _replay(
    engine: RuleEngine,
    report: BacktestReport,
    items: Iterable[_Item],
    fences: list[Any],
    tick_every: int,
    keep_hits: int,
) -> BacktestReport:
    """The replay loop both backtests share: tick on the event-time clock, evaluate, count."""
    state: dict[str, Any] = {}
    trucks = _Trucks(fences)
    seen: set[tuple[str, str]] = set()
    clock: float | None = None
    for number, source, event, at, record in items:
        hits: list[RuleHit] = []
        if clock is None or at - clock >= tick_every:
            # tick before the event: a silence that ran out before it must fire first
            clock = at if clock is None else max(clock, at)
            hits += engine.tick(clock, state)
            for found in trucks.tick(clock):
                hits += _detected(engine, report, found, state)
        try:
            hits += engine.evaluate(source, event, state)
            if isinstance(record, TruckFix):
                for found in trucks.step(record):
                    hits += _detected(engine, report, found, state)
        except (ValueError, KeyError, TypeError, RiskLoopError) as exc:
            report.bad_lines.append(f"line {number}: {type(exc).__name__}: {exc}")
            continue
        report.events += 1
        for hit in hits:
            _count(report, hit, seen, keep_hits)
    return report


@dataclass
class _Trucks:
    """Each plate's geo state per fence set, stepped and ticked as the worker does; each call
    yields one fence set's detections at a time, so they are counted in the worker's order."""

    fences: list[Any]
    vehicles: dict[str, Any] = field(default_factory=dict)

    def step(self, fix: TruckFix) -> Iterator[list[Any]]:
        """A fix through every fence set."""
        from geo.detector import step as geo_step

        for fence_set in self.fences:
            key = f"{fence_set.name}|{fix.plate}"
            self.vehicles[key], found = geo_step(self.vehicles.get(key), fix, fence_set)
            yield found

    def tick(self, clock: float) -> Iterator[list[Any]]:
        """Silent trucks at ``clock`` (epoch seconds), as the worker's tick finds them."""
        if not self.vehicles:  # a replay without trucks never loads geo/ (shapely)
            return
        from geo.detector import tick as geo_tick
        from schemas.durations import to_datetime

        by_name = {f.name: f for f in self.fences}
        for key, vehicle in list(self.vehicles.items()):
            at = to_datetime(clock)
            self.vehicles[key], found = geo_tick(vehicle, at, by_name[key.split("|")[0]])
            yield found


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
        department = _routed(report.route, hit)
        report.tasks[department] += 1
        report.by_month[(hit.event_time.strftime("%Y-%m"), department)] += 1


def _routed(table: Any, hit: RuleHit) -> str:
    """The department the worker would route the hit's task to (its first candidate)."""
    assert hit.task is not None
    if table is None:
        return hit.task.department
    from loop.routing import candidates

    return candidates(
        table,
        source=hit.source,
        item_code=hit.item_code,
        region_code=hit.region_code,
        default=hit.task.department,
    )[0]


def backtest_records(
    packs: Iterable[CompiledPack],
    records: Iterable[tuple[int, str, Any]],
    *,
    fence_sets: Iterable[Any] = (),
    routing: Any = None,
    tick_every: int = 300,
    keep_hits: int = 20,
) -> BacktestReport:
    """:func:`backtest` over validated records ``(line, source, record)`` (schemas.records),
    each truck fix also stepped through every fence set, its detections evaluated as the
    worker's ``truck_detections`` (``streams/scoring.py`` does the same live)."""
    engine = RuleEngine(packs)
    items = (
        (number, source, record.model_dump(mode="json"), record.event_time.timestamp(), record)
        for number, source, record in records
    )
    report = _report(engine, routing)
    return _replay(engine, report, items, list(fence_sets), tick_every, keep_hits)


def _detected(
    engine: RuleEngine, report: BacktestReport, found: Iterable[Any], state: dict[str, Any]
) -> list[RuleHit]:
    """The rule hits of geo detections, evaluated as the worker's ``truck_detections``."""
    hits: list[RuleHit] = []
    for det in found:
        report.detections[det.kind] += 1
        hits += engine.evaluate("truck_detections", det.model_dump(mode="json"), state)
    return hits
