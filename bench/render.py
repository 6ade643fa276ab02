"""The report for people: Markdown to paste into README or RESULTS.md, and a PNG chart.

Every figure is "median (min–max)" over the repeated runs, goals sit in their own column, and a
processor whose drain was too short says so where its rate would be, with a footnote saying why
and what input size would resolve it.

>>> fmt_spread({"min": 812.0, "median": 857.0, "max": 901.0, "n": 3}, "{:,.0f}", " ev/s")
'857 ev/s (812–901)'
>>> fmt_spread({"min": 2.0, "median": 2.0, "max": 2.0, "n": 1}, "{:.2f}")
'2.00'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench.report import GOALS, LABELS, meets
from bench.stats import MIN_COMMIT_INTERVALS, MIN_STEPS, MIN_TAIL_SAMPLES, MIN_WINDOW_SECONDS

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

SHORT = "too short to resolve¹"
AIMS = {"pipeline_vs_faust_pass": "0.35 (floor; aim 0.5)", "p99_ms": "1,000 ms (aim 250)"}
"""How a goal with an aim beyond it is printed (issue #16: the floor passes or fails)."""
MICRO = {
    "decode_validate_us_per_event": "decode + validate (µs/event)",
    "rule_us_per_rule_per_event": "one rule (µs/rule/event)",
    "model_us_per_event": "models (µs/event)",
    "geofence_lookup_us_10k_fences": "geofence lookup, 10k fences (µs)",
}


def fmt_spread(s: Mapping[str, float] | None, fmt: str = "{:,.0f}", unit: str = "") -> str:
    """``median (min–max)``; one run, or runs that agree, print one number. None prints "—"."""
    if s is None:
        return "—"
    mid = fmt.format(s["median"]) + unit
    lo, hi = fmt.format(s["min"]), fmt.format(s["max"])
    return mid if s["n"] == 1 or lo == hi else f"{mid} ({lo}–{hi})"


def fmt_goal(value: float | None, key: str, shown: str | None = None) -> str:
    """The goal and whether the median meets it.

    >>> fmt_goal(9.8, "messages_per_event"), fmt_goal(None, "p99_ms")
    ('≤ 1.5 ✗', '< 1000')
    """
    op, bound = GOALS[key]
    text = f"{op.replace('>=', '≥').replace('<=', '≤')} {shown or f'{bound:g}'}"
    if value is None:
        return text
    return f"{text} {'✓' if meets(value, (op, bound)) else '✗'}"


def header(report: Mapping[str, Any]) -> list[str]:
    """Date, command, machine, broker and stream: the facts without which a figure means nothing."""
    run, m, st = report["run"], report["machine"], report["stream"]
    load = " / ".join(f"{x:.2f}" for x in m.get("load_average", []))
    after = " / ".join(f"{x:.2f}" for x in m.get("load_average_after", []))
    runs = run.get("repeat", 1)
    ents = st.get("entities", {})
    who = " · ".join(f"{n:,} {kind}" for kind, n in ents.items())
    return [
        f"**riskloop bench** · {m.get('date_utc', '')} · {run['events']:,} events · "
        f"{runs} run{'s' if runs != 1 else ''} per processor · seed {run['seed']}"
        + (f" · --entities {run['entities']:,}" if run.get("entities") else ""),
        "",
        f"Machine: {m['cores']} cores · {m['cpu_model']} · {m['ram_gib']} GiB RAM · "
        f"Linux {m.get('kernel', '?')} · Python {m.get('python', '?')} · "
        f"load average (1/5/15 min) {load} before the run"
        + (f", {after} after." if after else "."),
        f"Broker: {run.get('partitions', 4)} partitions per topic, fresh topics per trial; "
        f"commit every {run.get('commit_interval', 1.0):g} s or {run.get('commit_every', 100)} "
        f"events; Faust baselines' table store {run.get('store', '?')} (RiskLoop: memory + state changelog); SQL {run.get('sql', '?')}.",
        f"Stream: {st.get('events', 0):,} events, {st.get('bytes', 0) / 2**20:,.1f} MiB "
        f"(key + value); {who}.",
        "",
        "Figures are median (min–max) over the runs.",
    ]


def processor_rows(report: Mapping[str, Any]) -> list[str]:
    """The throughput table: one row per processor; an unresolved rate shows as too short."""
    lines = [
        "| processor | ev/s | µs CPU/event | peak RSS (MiB) | msgs out / event | bytes out / in |",
        "|---|---|---|---|---|---|",
    ]
    for name, p in report["throughput"].items():
        rate = fmt_spread(p["events_per_second"]) if p["resolved"] else SHORT
        cpu = "—"
        if p["resolved"]:
            cpu = fmt_spread(p["cpu_us_per_event"]) + ("*" if p.get("cpu_coarse") else "")
        lines.append(
            f"| {LABELS.get(name, name)} | {rate} | {cpu} | {fmt_spread(p['peak_rss_mib'])} | "
            f"{fmt_spread(p['messages_per_event'], '{:.2f}')} | "
            f"{_bytes(p['bytes_ratio'], p.get('bytes_complete', True))} |"
        )
    return lines


def _bytes(s: Mapping[str, float] | None, complete: bool) -> str:
    """Bytes out / in; "≥" when compaction removed records before they were read back."""
    return ("" if complete else "≥ ") + fmt_spread(s, "{:.2f}", "×")


def _ratio(entry: Mapping[str, Any]) -> tuple[str, float | None]:
    if not entry["resolved"]:
        return f"— ({entry['too_short']} too short to resolve¹)", None
    return fmt_spread(entry, "{:.3f}"), entry["median"]


def measure_rows(report: Mapping[str, Any]) -> list[str]:
    """(measure, result, goal) rows: ratios, the pipeline's volume, stall, memory, latency."""
    thr, pipe, lat = report["throughput"], report["pipeline"], report["latency"]
    rows: list[tuple[str, str, str]] = []
    for key, entry in report["ratios"].items():
        base = key.removeprefix("pipeline_vs_")
        shown, value = _ratio(entry)
        goal = fmt_goal(value, key, AIMS.get(key)) if key in GOALS else ""
        rows.append((f"pipeline / {LABELS.get(base, base)}", shown, goal))
    mpe, br = pipe["messages_per_event"], pipe["bytes_ratio"]
    rows.append(
        (
            "pipeline: messages produced per input event",
            fmt_spread(mpe, "{:.2f}"),
            fmt_goal(mpe and mpe["median"], "messages_per_event"),
        )
    )
    rows.append(
        (
            "pipeline: bytes produced per byte read",
            _bytes(br, pipe["bytes_complete"]),
            fmt_goal(br and br["median"], "bytes_ratio", "5×"),
        )
    )
    rows.append(_stall_row(report))
    rows.append(
        ("pipeline: most events read but not committed", fmt_spread(pipe["max_uncommitted"]), "")
    )
    rss = thr["pipeline"]["peak_rss_mib"]
    rows.append(
        (
            "pipeline: peak RSS",
            fmt_spread(rss, "{:,.0f}", " MiB"),
            fmt_goal(rss and rss["median"], "peak_rss_mib", "500 MiB"),
        )
    )
    keeps_up = pipe.get("e2e_vs_pipeline")
    rows.append(
        (
            "pipeline: end-to-end capacity (until tasks, feedback, profiles caught up)",
            fmt_spread(pipe["e2e_events_per_second"], "{:,.0f}", " ev/s")
            + (f"; {fmt_spread(keeps_up, '{:.2f}', '×')} its ingest rate" if keeps_up else ""),
            fmt_goal(keeps_up and keeps_up["median"], "e2e_vs_pipeline", "0.9× its ingest rate"),
        )
    )
    rows.append(_latency_row(lat))
    for key, label in MICRO.items():
        if key in report["micro"]:
            rows.append((label, f"{report['micro'][key]:,.2f}", ""))
    lines = ["| measure | result | goal |", "|---|---|---|"]
    return lines + [f"| {a} | {b} | {c} |" for a, b, c in rows]


def _stall_row(report: Mapping[str, Any]) -> tuple[str, str, str]:
    pipe = report["pipeline"]
    goal_s = pipe["first_commit_goal_seconds"]
    s = pipe["first_commit_seconds"]
    shown = fmt_spread(s, "{:.1f}", " s")
    if s is not None and not pipe["first_commit_exact"]:
        shown = "≥ " + shown
    ref = report["throughput"].get("faust_pass", {}).get("first_commit_seconds")
    if ref is not None:
        shown += f"; Faust pass-through {fmt_spread(ref, '{:.1f}', ' s')}"
    verdict = "" if s is None else (" ✓" if s["median"] <= goal_s else " ✗")
    return (
        "pipeline: first commit after its first event read",
        shown,
        f"≤ {goal_s:g} s (commit interval + 1 s){verdict}",
    )


def _latency_row(lat: Mapping[str, Any]) -> tuple[str, str, str]:
    p99 = f"p99 {lat['p99_ms']:,.0f} ms"
    if not lat["p99_resolved"]:
        p99 += f" (unresolved: {lat['alerts_matched']} alerts < {MIN_TAIL_SAMPLES})"
    return (
        f"produce → alert latency at {lat['offered_per_second']:,.0f} ev/s (half the "
        f"end-to-end capacity)",
        f"p50 {lat['p50_ms']:,.0f} ms · {p99} · {lat['alerts_matched']:,} alerts",
        fmt_goal(lat["p99_ms"] if lat["p99_resolved"] else None, "p99_ms", AIMS["p99_ms"]),
    )


def notes(report: Mapping[str, Any]) -> list[str]:
    """Footnotes under the tables: short drains, write amplification, sink trouble, coarse CPU."""
    out = []
    short = [
        (p["label"], p["too_short"]) for p in report["throughput"].values() if not p["resolved"]
    ]
    if short:
        out.append(
            f"¹ Too short to resolve: a rate needs its measured window (5 %–95 % of the drain) "
            f"to last ≥ {MIN_WINDOW_SECONDS:g} s and ≥ {MIN_COMMIT_INTERVALS:g} commit intervals, "
            f"with ≥ {MIN_STEPS} commit steps in it (a first-commit stall as long as the drain "
            f"leaves no window at all, whatever the size). "
            + "; ".join(f"{label}: {why}" for label, why in short)
            + "."
        )
    by_topic = report["pipeline"]["messages_per_event_by_topic"]
    if by_topic:
        top = " · ".join(f"{t} {n:.2f}" for t, n in list(by_topic.items())[:6])
        out.append(f"Pipeline messages per input event, largest topics (median): {top}.")
    by_bytes = report["pipeline"].get("bytes_ratio_by_topic", {})
    if by_bytes:
        top = " · ".join(f"{t} {n:.2f}×" for t, n in list(by_bytes.items())[:6])
        out.append(f"Pipeline bytes produced per byte read, largest topics (median): {top}.")
    parts = report["pipeline"].get("state_messages_per_event", {})
    part_bytes = report["pipeline"].get("state_bytes_ratio", {})
    if parts:
        top = " · ".join(
            f"{t} {parts.get(t, 0):.3f} ({b:.2f}×)" for t, b in list(part_bytes.items())[:8]
        )
        out.append(
            f"State changelog by table, messages per input event (bytes per byte read): {top}."
        )
    if report["pipeline"]["sink_retries"] or report["pipeline"]["sink_rejected"]:
        out.append(
            f"⚠ The pipeline's sinks retried {report['pipeline']['sink_retries']:.0f} flushes and "
            f"refused {report['pipeline']['sink_rejected']:.0f} records: a service stalled or "
            f"refused during the run, and its figures include that."
        )
    if any(p.get("cpu_coarse") and p["resolved"] for p in report["throughput"].values()):
        out.append(
            "* CPU under two clock ticks in the window: whole-process CPU, start-up included."
        )
    out.append(
        "Messages: high-watermark deltas over every topic the trial wrote (outputs, internal, "
        "changelogs, Faust's own). Bytes: key + value + headers of those records read back, "
        "against key + value of the input."
    )
    return out


def markdown(report: Mapping[str, Any]) -> str:
    """The whole report as Markdown: header, the two tables, footnotes."""
    parts = [*header(report), "", *processor_rows(report), "", *measure_rows(report), ""]
    parts += [line for n in notes(report) for line in (n, "")]
    return "\n".join(parts).rstrip() + "\n"


def write_chart(report: Mapping[str, Any], path: Path) -> Path:
    """Two panels: throughput of each processor (median, min–max bars; hatched when too short
    to resolve), and the micro-benchmarks (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    thr = report["throughput"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    names = list(thr)
    mids = [thr[n]["events_per_second"]["median"] for n in names]
    err = [
        [m - thr[n]["events_per_second"]["min"] for n, m in zip(names, mids, strict=True)],
        [thr[n]["events_per_second"]["max"] - m for n, m in zip(names, mids, strict=True)],
    ]
    bars = left.bar(
        [LABELS.get(n, n).replace(", ", "\n") for n in names],
        mids,
        yerr=err,
        capsize=4,
        color="#4c72b0",
    )
    for bar, n in zip(bars, names, strict=True):
        if not thr[n]["resolved"]:
            bar.set_hatch("//")
            bar.set_color("#bbbbbb")
            left.annotate(
                "too short",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
            )
    left.set_ylabel("events / s (sustained)")
    left.set_yscale("log")
    left.set_title("throughput, one process each (median, min–max)")
    left.tick_params(axis="x", labelsize=7)
    micro = report["micro"]
    right.barh([MICRO.get(k, k) for k in micro], list(micro.values()), color="#55a868")
    right.set_xscale("log")
    right.set_xlabel("µs")
    right.set_title("micro-benchmarks (in-process)")
    right.tick_params(axis="y", labelsize=8)
    m = report["machine"]
    fig.suptitle(
        f"RiskLoop bench · {m.get('date_utc', '')} · {m['cores']} cores · "
        f"{m['cpu_model']} · {m['ram_gib']} GiB"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
