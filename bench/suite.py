"""``riskloop bench``: the whole suite in one run, on one machine, on fresh per-run topics.

Order: pre-produce the generated stream once (all processors read the same bytes), micro-
benchmarks in-process, then raw loop, Faust pass-through and the RiskLoop worker one after the
other (never two at once, so they do not share the CPU), then the worker's end-to-end latency at
half its measured maximum. Every topic and group carries the run's suffix and is deleted at the
end, so runs never see each other's data.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import harness
from bench.generator import generate
from bench.micro import run_micro
from bench.procstat import machine_info
from bench.report import build_report, markdown, write_chart, write_json
from config.settings import PROJECT_ROOT, Settings
from streams import admin


@dataclass(frozen=True)
class Plan:
    """Sizes of one run: ``quick`` only proves that everything works."""

    events: int
    seed: int
    quick: bool
    latency_seconds: float
    micro_events: int
    geo_points: int
    timeout: float

    @classmethod
    def make(cls, events: int | None, seed: int, quick: bool) -> Plan:
        n = events or (300 if quick else 20_000)
        return cls(
            events=n, seed=seed, quick=quick, latency_seconds=4.0 if quick else 20.0,
            micro_events=min(n, 5_000), geo_points=500 if quick else 20_000,
            timeout=120.0 + n / 100.0,
        )  # fmt: skip


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pipeline_env(s: Settings) -> dict[str, str]:
    """Environment that makes ``python -m streams worker`` use exactly the run's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_TOPICS__")}
    env.update({
        "RISKLOOP_APP_ID": s.app_id, "RISKLOOP_KAFKA_BROKER": s.kafka_broker,
        "RISKLOOP_WEB_PORT": str(s.web_port), "RISKLOOP_DATA_DIR": str(s.data_dir),
        "RISKLOOP_SQL_URL": s.sql_url, "RISKLOOP_LOG_FORMAT": "json",
        "RISKLOOP_TOPICS__PARTITIONS": str(harness.PARTITIONS),
    })  # fmt: skip
    for name, value in s.topics.model_dump().items():
        if isinstance(value, str):
            env[f"RISKLOOP_TOPICS__{name.upper()}"] = value
    return env


def run_bench(
    settings: Settings, plan: Plan, out: Path, say: Callable[[str], None] = print
) -> dict[str, Any]:
    """Run the suite; returns the report and writes JSON, PNG and Markdown into ``out``."""
    admin.require_broker(settings)
    out.mkdir(parents=True, exist_ok=True)
    suffix = harness.run_suffix()
    prefix = f"bench.{suffix}."
    with tempfile.TemporaryDirectory(prefix="riskloop-bench-") as tmp:
        work = Path(tmp)
        run_settings = settings.with_overrides(
            app_id=f"bench-{suffix}-pipeline",
            topics=settings.topics.model_copy(update=harness.topic_overrides(prefix)),
            data_dir=work / "worker", sql_url=f"sqlite:///{work / 'riskloop.db'}",
            web_port=free_port(),
        )  # fmt: skip
        try:
            report = _run(settings, run_settings, plan, prefix, work, say)
        finally:
            say(f"deleted {harness.delete_topics(settings, suffix)} per-run topics")
    report["run"]["suffix"] = suffix
    stem = out / f"bench-{suffix}"
    write_json(report, stem.with_suffix(".json"))
    write_chart(report, stem.with_suffix(".png"))
    stem.with_suffix(".md").write_text(markdown(report), encoding="utf-8")
    report["files"] = [str(stem.with_suffix(x)) for x in (".json", ".png", ".md")]
    return report


def _run(
    base: Settings, s: Settings, plan: Plan, prefix: str, work: Path, say: Callable[[str], None]
) -> dict[str, Any]:
    stream = generate(plan.events * 2, seed=plan.seed)
    head, tail = stream[: plan.events], stream[plan.events :]
    sources = s.topics.sources()
    inputs = list(sources.values())
    raw_out, faust_out = f"{prefix}raw.out", f"{prefix}faust.out"
    harness.create_topics(s, [*inputs, raw_out, faust_out])
    admin.create_topics(s)
    say(f"producing {len(head):,} events to {prefix}* …")
    harness.produce_all(s, head, sources)

    say("micro-benchmarks …")
    micro = run_micro(base, head[: plan.micro_events], geo_points=plan.geo_points)

    measured = []
    say("raw confluent-kafka loop …")
    argv = [sys.executable, "-m", "bench.raw_loop", s.bootstrap_servers, f"{prefix}raw",
            raw_out, *inputs]  # fmt: skip
    with harness.spawn("raw", argv, f"{prefix}raw", work / "raw.log") as p:
        measured.append(harness.drain(s, p, inputs, len(head), plan.timeout))

    say("Faust pass-through …")
    argv = [sys.executable, "-m", "bench.faust_passthrough", s.kafka_broker, f"{prefix}faust",
            str(work / "faust"), faust_out, *inputs]  # fmt: skip
    with harness.spawn("faust", argv, f"{prefix}faust", work / "faust.log") as p:
        measured.append(harness.drain(s, p, inputs, len(head), plan.timeout))

    say("RiskLoop pipeline (python -m streams worker) …")
    argv = [sys.executable, "-m", "streams", "worker"]
    with harness.spawn("pipeline", argv, s.app_id, work / "worker.log", pipeline_env(s)) as p:
        pipe = harness.drain(s, p, inputs, len(head), plan.timeout)
        measured.append(pipe)
        t = s.topics
        internal = [t.task_commands, t.feedback, t.profile_events]
        catch_up = harness.wait_idle(s, p, internal, plan.timeout)
        say(f"downstream (tasks, feedback, profiles) caught up {catch_up:.1f} s after ingest")
        rate = max(pipe.events_per_second * 0.5, 1.0)
        n = max(1, min(len(tail), int(rate * plan.latency_seconds)))
        say(f"latency at {rate:,.0f} ev/s for {n:,} events …")
        latency = harness.measure_latency(
            s, tail[:n], sources, s.topics.alerts, rate, worker=p, settle=10.0
        )
    return build_report(
        run={"events": plan.events, "seed": plan.seed, "quick": plan.quick,
             "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "topics_prefix": prefix,
             "partitions": harness.PARTITIONS, "project": str(PROJECT_ROOT),
             "pipeline_downstream_catch_up_seconds": catch_up},
        machine=machine_info(), measured=measured, latency=latency, micro=micro,
    )  # fmt: skip
