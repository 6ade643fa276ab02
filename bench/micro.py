"""In-process micro-benchmarks of the pure stages, on the same generated stream as the broker runs.

They answer "where does an event's time go" without Kafka in the way: decoding and validation,
rule evaluation (per rule, so adding rules can be costed), the River models, and one fence lookup
against a city-sized fence set.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bench.geo_lookup import bench_lookup
from models.worker_models import build_models
from rules.compiler import expand_paths, load_packs
from rules.engine import RuleEngine
from schemas.ingest import IngestLimits, decode_source

if TYPE_CHECKING:
    from collections.abc import Sequence

    from config.settings import Settings
    from schemas.records import Record
    from schemas.sample_stream import GeneratedEvent


def decode_us(settings: Settings, events: Sequence[GeneratedEvent]) -> tuple[float, list[Any]]:
    """µs per event of ``decode_source`` over the JSON bytes, and the (source, record) pairs."""
    limits = IngestLimits.from_settings(settings)
    now = datetime.now(UTC)
    raw = [(e.source, json.dumps(e.event, ensure_ascii=False).encode()) for e in events]
    t0 = time.perf_counter()
    records = [(source, decode_source(source, b, limits=limits, now=now)) for source, b in raw]
    return _us(t0, len(raw)), records


def rules_us_per_rule(settings: Settings, records: Sequence[tuple[str, Record]]) -> float:
    """µs per rule per event: the shipped packs over the records, divided by rules evaluated.

    Events are dumped to dicts before timing, as the worker does once per event for all rules.
    """
    packs = load_packs(expand_paths([settings.rule_packs_dir]))
    engine = RuleEngine(packs)
    per_source: dict[str, int] = {}
    source: str
    for pack in packs:
        for rule in pack.rules:
            if rule.mode != "disabled":
                for source in rule.spec.sources:
                    per_source[source] = per_source.get(source, 0) + 1
    dumped = [(source, r.model_dump(mode="json")) for source, r in records]
    evaluations = sum(per_source.get(source, 0) for source, _ in dumped)
    state: dict[str, Any] = {}
    t0 = time.perf_counter()
    for source, event in dumped:
        engine.evaluate(source, event, state)
    return _us(t0, max(evaluations, 1))


def models_us(settings: Settings, records: Sequence[tuple[str, Record]]) -> float:
    """µs per event of score-then-learn over every default model of the event's source."""
    models = build_models(settings)
    t0 = time.perf_counter()
    for source, record in records:
        for _ in models.process(source, record):
            pass
    return _us(t0, len(records))


def run_micro(
    settings: Settings, events: Sequence[GeneratedEvent], *, geo_points: int
) -> dict[str, float]:
    """Every micro-benchmark, in µs."""
    decode, records = decode_us(settings, events)
    return {
        "decode_validate_us_per_event": decode,
        "rule_us_per_rule_per_event": rules_us_per_rule(settings, records),
        "model_us_per_event": models_us(settings, records),
        "geofence_lookup_us_10k_fences": bench_lookup(10_000, geo_points),
    }


def _us(t0: float, n: int) -> float:
    return (time.perf_counter() - t0) / max(n, 1) * 1e6
