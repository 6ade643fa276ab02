"""The benchmark's report: one dict (the JSON file), a bar chart, a rich table and Markdown.

Building the report is pure (numbers in, dict out) so its shape is unit-tested; the JSON is
what tools and the integration test read, the table and Markdown are for people.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from bench.harness import Latency, Measured
from bench.stats import BenchError, percentile, ratio

SECTIONS = ("run", "machine", "throughput", "ratios", "latency", "micro")
_LABELS = {
    "raw": "raw confluent-kafka loop",
    "faust": "Faust pass-through",
    "pipeline": "RiskLoop pipeline",
}
_MICRO = {
    "decode_validate_us_per_event": "decode + validate (µs/event)",
    "rule_us_per_rule_per_event": "one rule (µs/rule/event)",
    "model_us_per_event": "models (µs/event)",
    "geofence_lookup_us_10k_fences": "geofence lookup, 10k fences (µs)",
}


def latency_summary(lat: Latency) -> dict[str, float]:
    """p50/p95/p99 in ms of the matched alerts; a run without one cannot report a latency."""
    if not lat.matched:
        raise BenchError(
            f"no alert matched any of the {lat.events} events produced for the latency run"
        )
    return {
        "offered_per_second": lat.offered_per_second,
        "events": lat.events,
        "alerts_matched": len(lat.matched),
        "p50_ms": percentile(lat.matched, 50),
        "p95_ms": percentile(lat.matched, 95),
        "p99_ms": percentile(lat.matched, 99),
    }


def build_report(
    *,
    run: Mapping[str, Any],
    machine: Mapping[str, Any],
    measured: Sequence[Measured],
    latency: Latency,
    micro: Mapping[str, float],
) -> dict[str, Any]:
    """The whole report; ratios are pipeline throughput over each baseline's."""
    by_name = {m.name: m for m in measured}
    missing = {"raw", "faust", "pipeline"} - by_name.keys()
    if missing:
        raise BenchError(f"missing throughput measurements: {', '.join(sorted(missing))}")
    p = by_name["pipeline"].events_per_second
    return {
        "run": dict(run),
        "machine": dict(machine),
        "throughput": {name: m.as_dict() for name, m in by_name.items()},
        "ratios": {
            "pipeline_vs_passthrough": ratio(p, by_name["faust"].events_per_second),
            "pipeline_vs_raw": ratio(p, by_name["raw"].events_per_second),
        },
        "latency": latency_summary(latency),
        "micro": dict(micro),
    }


def write_json(report: Mapping[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_chart(report: Mapping[str, Any], path: Path) -> Path:
    """Two panels: throughput of the three processors, and the micro-benchmarks (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    thr = report["throughput"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    names = [n for n in _LABELS if n in thr]
    left.bar([_LABELS[n] for n in names], [thr[n]["events_per_second"] for n in names],
             color=["#888888", "#4c72b0", "#c44e52"][: len(names)])  # fmt: skip
    left.set_ylabel("events / s (sustained)")
    left.set_yscale("log")
    left.set_title("throughput, one process each")
    left.tick_params(axis="x", labelsize=8)
    micro = report["micro"]
    right.barh([_MICRO.get(k, k) for k in micro], list(micro.values()), color="#55a868")
    right.set_xscale("log")
    right.set_xlabel("µs")
    right.set_title("micro-benchmarks (in-process)")
    right.tick_params(axis="y", labelsize=8)
    m = report["machine"]
    fig.suptitle(f"RiskLoop bench · {m['cores']} cores · {m['cpu_model']} · {m['ram_gib']} GiB")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def rows(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(what, value) lines shared by the rich table and the Markdown table."""
    out: list[tuple[str, str]] = []
    for name, label in _LABELS.items():
        t = report["throughput"][name]
        out.append(
            (
                label,
                f"{t['events_per_second']:,.0f} ev/s · {t['cpu_us_per_event']:,.0f} µs CPU/ev"
                f"{'*' if t.get('cpu_coarse') else ''} · "
                f"peak RSS {t['peak_rss_mib']:,.0f} MiB",
            )
        )
    r = report["ratios"]
    out.append(("pipeline / pass-through", f"{r['pipeline_vs_passthrough']:.3f}"))
    out.append(("pipeline / raw", f"{r['pipeline_vs_raw']:.3f}"))
    lat = report["latency"]
    out.append(
        (
            f"end-to-end latency at {lat['offered_per_second']:,.0f} ev/s",
            f"p50 {lat['p50_ms']:,.1f} ms · p95 {lat['p95_ms']:,.1f} ms · "
            f"p99 {lat['p99_ms']:,.1f} ms ({lat['alerts_matched']} alerts)",
        )
    )
    for key, label in _MICRO.items():
        if key in report["micro"]:
            out.append((label, f"{report['micro'][key]:,.2f}"))
    m = report["machine"]
    out.append(("machine", f"{m['cores']} cores · {m['cpu_model']} · {m['ram_gib']} GiB RAM"))
    return out


def table(report: Mapping[str, Any]) -> Table:
    run = report["run"]
    t = Table(title=f"riskloop bench · {run['events']:,} events · seed {run['seed']}")
    t.add_column("measure")
    t.add_column("result", justify="right")
    for what, value in rows(report):
        t.add_row(what, value)
    return t


def markdown(report: Mapping[str, Any]) -> str:
    lines = ["| measure | result |", "|---|---|"]
    lines += [f"| {what} | {value} |" for what, value in rows(report)]
    return "\n".join(lines) + "\n"
