"""The benchmark's report: one dict, written as JSON; ``bench.render`` makes Markdown and a chart
of it.

Building the report is pure (trials in, dict out) so its shape and its rules are unit-tested:
every figure is a spread (min, median, max) over the repeated runs; a processor whose drain was
too short in any run is marked so, and no ratio is made of it; goals sit next to the figures.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from bench.stats import MIN_TAIL_SAMPLES, BenchError, Spread, percentile, ratio_spread, spread

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from pathlib import Path

    from bench.harness import Latency, Trial
    from bench.volume import Volume

SECTIONS = ("run", "machine", "stream", "throughput", "ratios", "pipeline", "latency", "micro")
LABELS = {
    "raw": "raw confluent-kafka loop",
    "faust_pass": "Faust pass-through",
    "faust_1w1s": "Faust, 1 table write + 1 send",
    "faust_5w2s": "Faust, 5 table writes + 2 sends",
    "pipeline": "RiskLoop pipeline",
}
GOALS: dict[str, tuple[str, float]] = {
    "pipeline_vs_faust_pass": (">=", 0.35),
    "pipeline_vs_raw": (">=", 0.5),
    "messages_per_event": ("<=", 1.5),
    "bytes_ratio": ("<=", 5.0),
    "peak_rss_mib": ("<", 500.0),
    "e2e_vs_pipeline": (">=", 0.9),
    "p99_ms": ("<", 1000.0),
}
"""The pipeline's goals (issue #16; README, "Benchmark"); the stall's is commit interval + 1 s.
Where the issue names an aim beyond its goal (0.5× the pass-through, a p99 of 250 ms), the
goal is what passes or fails and the aim is printed beside it (``bench.render.AIMS``)."""


def meets(value: float, goal: tuple[str, float]) -> bool:
    """
    >>> meets(1.2, ("<=", 1.5)), meets(0.2, (">=", 1.0))
    (True, False)
    """
    op, bound = goal
    return {"<": value < bound, "<=": value <= bound, ">=": value >= bound}[op]


def _spread_of(trials: Sequence[Trial], get: Callable[[Trial], float | None]) -> Spread | None:
    values = [v for t in trials if (v := get(t)) is not None and not math.isnan(v)]
    return spread(values) if values else None


def _d(s: Spread | None) -> dict[str, float] | None:
    return s.as_dict() if s is not None else None


def processor_summary(trials: Sequence[Trial]) -> dict[str, Any]:
    """One processor's runs and their spreads; unresolved if any run was too short.

    Not "the resolved runs only": the runs too short are the fast ones (a faster drain is a
    shorter window), so leaving them out would bias the figure low.
    """
    short = [t for t in trials if not t.measured.resolved]
    # the shortest window among the runs too short: a run can be too short by its commit
    # steps with a longer window than a resolved run's, which has no reason to give
    worst = min(short or trials, key=lambda t: t.measured.resolution.window_seconds)
    why = worst.measured.resolution.reason()
    if short and len(trials) > 1:
        why = f"{len(short)} of {len(trials)} runs, shortest {why}"
    return {
        "label": LABELS.get(trials[0].name, trials[0].name),
        "runs": [t.as_dict() for t in trials],
        "resolved": not short,
        "too_short": why if short else "",
        "events_per_second": _d(_spread_of(trials, lambda t: t.measured.events_per_second)),
        "cpu_us_per_event": _d(_spread_of(trials, lambda t: t.measured.cpu_us_per_event)),
        "cpu_coarse": any(t.measured.cpu_coarse for t in trials),
        "peak_rss_mib": _d(_spread_of(trials, lambda t: t.measured.peak_rss_mib)),
        "messages_per_event": _d(_spread_of(trials, lambda t: t.volume.messages_per_event)),
        "bytes_ratio": _d(_spread_of(trials, lambda t: t.volume.bytes_ratio)),
        "bytes_complete": all(t.volume.bytes_complete for t in trials),
        "first_commit_seconds": _d(_spread_of(trials, lambda t: t.stall.seconds)),
        "first_commit_exact": all(t.stall.exact for t in trials),
        "max_uncommitted": _d(_spread_of(trials, lambda t: t.stall.max_uncommitted)),
    }


def _keeps_up(trial: Trial) -> float | None:
    """End-to-end capacity ÷ the pipeline's ingest rate, both of one run: whether the stages
    after the source agents (tasks, feedback, profiles) keep up with it, or it only looks fast
    because their work waits until the ingest is over."""
    rate, e2e = trial.measured.events_per_second, trial.e2e_rate
    return e2e / rate if e2e and rate else None


def ratio_entry(num: Mapping[str, Any], den: Mapping[str, Any]) -> dict[str, Any]:
    """``num`` / ``den`` throughput from medians with the runs' spread — or why there is none.

    >>> fast = {"resolved": True, "label": "a", "events_per_second": {"min": 90, "median": 100,
    ...         "max": 110, "n": 3}}
    >>> ratio_entry(fast, dict(fast, resolved=False, label="b"))
    {'resolved': False, 'too_short': 'b'}
    """
    short = [p["label"] for p in (num, den) if not p["resolved"]]
    if short:
        return {"resolved": False, "too_short": " and ".join(short)}
    a, b = (Spread(**p["events_per_second"]) for p in (num, den))
    return {"resolved": True, **ratio_spread(a, b).as_dict()}


def latency_summary(lat: Latency) -> dict[str, Any]:
    """p50/p95/p99 in ms of the matched alerts; a run without one cannot report a latency.

    p99 of fewer than MIN_TAIL_SAMPLES alerts is the largest one or close to it, so it is
    marked unresolved rather than quoted as a tail.
    """
    if not lat.matched:
        raise BenchError(
            f"no alert matched any of the {lat.events} events produced for the latency run"
        )
    return {
        "offered_per_second": lat.offered_per_second,
        "capacity_per_second": lat.capacity_per_second,
        "events": lat.events,
        "alerts_matched": len(lat.matched),
        "p50_ms": percentile(lat.matched, 50),
        "p95_ms": percentile(lat.matched, 95),
        "p99_ms": percentile(lat.matched, 99),
        "p99_resolved": len(lat.matched) >= MIN_TAIL_SAMPLES,
    }


def _by_topic(
    trials: Sequence[Trial], of: Callable[[Volume], tuple[dict[str, int], int]]
) -> dict[str, float]:
    """Per topic, what ``of`` counts divided by its base, median over the runs, largest first."""
    parts = [of(t.volume) for t in trials]
    topics = {name for counts, _ in parts for name in counts}
    med = {name: spread([c.get(name, 0) / base for c, base in parts]).median for name in topics}
    return dict(sorted(med.items(), key=lambda kv: -kv[1]))


def build_report(
    *,
    run: Mapping[str, Any],
    machine: Mapping[str, Any],
    stream: Mapping[str, Any],
    trials: Iterable[Trial],
    latency: Latency,
    micro: Mapping[str, float],
) -> dict[str, Any]:
    """The whole report: per-processor spreads, ratios to each baseline, the pipeline's volume,
    stall and capacity against their goals, latency and micro-benchmarks."""
    by_name: dict[str, list[Trial]] = {}
    for t in trials:
        by_name.setdefault(t.name, []).append(t)
    needed = {"pipeline"} if run.get("only_pipeline") else {"raw", "faust_pass", "pipeline"}
    missing = needed - by_name.keys()
    if missing:
        raise BenchError(f"missing throughput measurements: {', '.join(sorted(missing))}")
    throughput = {name: processor_summary(ts) for name, ts in by_name.items()}
    pipe = throughput["pipeline"]
    pipes = by_name["pipeline"]
    commit_interval = float(run.get("commit_interval", 1.0))
    return {
        "run": dict(run),
        "machine": dict(machine),
        "stream": dict(stream),
        "throughput": throughput,
        "ratios": {
            f"pipeline_vs_{name}": ratio_entry(pipe, p)
            for name, p in throughput.items()
            if name != "pipeline"
        },
        "pipeline": {
            "messages_per_event": pipe["messages_per_event"],
            "bytes_ratio": pipe["bytes_ratio"],
            "bytes_complete": pipe["bytes_complete"],
            "messages_per_event_by_topic": _by_topic(pipes, lambda v: (v.by_topic, v.events)),
            "bytes_ratio_by_topic": _by_topic(pipes, lambda v: (v.bytes_by_topic, v.bytes_in)),
            "state_messages_per_event": _by_topic(
                pipes, lambda v: ({k: n for k, (n, _) in v.state_parts.items()}, v.events)
            ),
            "state_bytes_ratio": _by_topic(
                pipes, lambda v: ({k: b for k, (_, b) in v.state_parts.items()}, v.bytes_in)
            ),
            "first_commit_seconds": pipe["first_commit_seconds"],
            "first_commit_exact": pipe["first_commit_exact"],
            "first_commit_goal_seconds": commit_interval + 1.0,
            "max_uncommitted": pipe["max_uncommitted"],
            "e2e_events_per_second": _d(_spread_of(pipes, lambda t: t.e2e_rate)),
            "e2e_vs_pipeline": _d(_spread_of(pipes, _keeps_up)) if pipe["resolved"] else None,
            "sink_retries": max(t.sinks.get("sink_retries", 0.0) for t in pipes),
            "sink_rejected": max(t.sinks.get("sink_rejected", 0.0) for t in pipes),
        },
        "goals": {k: {"op": op, "value": v} for k, (op, v) in GOALS.items()},
        "latency": latency_summary(latency),
        "micro": dict(micro),
    }


def write_json(report: Mapping[str, Any], path: Path) -> Path:
    """Write the report as indented UTF-8 JSON (Chinese kept readable); returns ``path``."""
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
