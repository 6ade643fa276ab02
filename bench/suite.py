"""``riskloop bench``: the whole suite in one run, on one machine, on fresh per-run topics.

Order: check that every service the pipeline writes to is up; pre-produce the generated stream
once (every processor reads the same bytes); micro-benchmarks in-process; then ``repeat``
rounds, each running every processor once — raw loop, Faust pass-through, Faust with state,
the RiskLoop worker — one after the other (never two at once, so they do not share the CPU;
rounds rather than one processor's repeats back to back, so a drift of the machine spreads
over all of them). Every trial has its own consumer group and its own output, internal and
changelog topics, so what it wrote can be counted at the broker; they are deleted after the
trial. The last pipeline trial then measures end-to-end latency at half the median end-to-end
capacity of all pipeline trials.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import harness, probes, services, volume
from bench.faust_baseline import changelogs
from bench.micro import run_micro
from bench.procstat import machine_info, peak_rss_bytes
from bench.render import markdown, write_chart
from bench.report import LABELS, build_report, write_json
from bench.stats import BenchError
from config.settings import PROJECT_ROOT, Settings
from infra.ports import free_port
from schemas.sample_stream import entity_counts, generate
from streams import admin

Say = Callable[[str], None]


@dataclass(frozen=True)
class Baseline:
    """A Faust baseline: ``writes`` table writes and ``sends`` sends per event, no logic."""

    name: str
    writes: int
    sends: int


PASS_THROUGH = Baseline("faust_pass", 0, 1)
ONE_STATE = Baseline("faust_1w1s", 1, 1)
WIDE_STATE = Baseline("faust_5w2s", 5, 2)


@dataclass(frozen=True)
class Plan:
    """Sizes of one run: ``quick`` only proves that everything works."""

    events: int
    seed: int
    quick: bool
    repeat: int
    latency_seconds: float
    settle_seconds: float
    """After the latency run's last event: wait this long at most for late alerts."""
    micro_events: int
    geo_points: int
    timeout: float
    """Per trial: 120 s + 40 ms per event. A 2-core machine shared by several test runs drained
    the pipeline at ~45 ev/s (2026-12-02), and 10 ms per event cut a 10,000-event run short."""
    entities: int | None = None
    wide_baseline: bool = True
    sql: str | None = None
    """``sqlite``, ``postgres`` or None: whatever RISKLOOP_SQL_URL is."""
    start_services: bool = False
    only_pipeline: bool = False
    """``--only pipeline``: no raw loop, no Faust baselines (a 100,000-entity run for peak RSS
    would otherwise spend most of its time on them)."""

    @classmethod
    def make(
        cls,
        events: int | None,
        seed: int,
        quick: bool,
        *,
        repeat: int | None = None,
        entities: int | None = None,
        wide_baseline: bool | None = None,
        sql: str | None = None,
        start_services: bool = False,
        timeout: float | None = None,
        only_pipeline: bool = False,
    ) -> Plan:
        """The plan for the CLI's options: unset sizes follow ``quick``; excess entities refused."""
        n = events or (300 if quick else 20_000)
        if entities is not None and entities > n:
            raise BenchError(
                f"--entities {entities:,} needs --events ≥ {entities:,}: every entity appears"
                " at least once in the measured stream"
            )
        return cls(
            events=n,
            seed=seed,
            quick=quick,
            repeat=repeat or (1 if quick else 3),
            latency_seconds=2.0 if quick else 20.0,
            settle_seconds=3.0 if quick else 10.0,
            micro_events=min(n, 300 if quick else 5_000),
            geo_points=500 if quick else 20_000,
            timeout=timeout or 120.0 + n / 25.0,
            entities=entities,
            wide_baseline=(not quick) if wide_baseline is None else wide_baseline,
            sql=sql,
            start_services=start_services,
            only_pipeline=only_pipeline,
        )

    def baselines(self) -> list[Baseline]:
        """The Faust baselines to run; the wide one only when the plan asks for it."""
        return [PASS_THROUGH, ONE_STATE, *([WIDE_STATE] if self.wide_baseline else [])]


BASELINE_STORE = "rocksdb://"
"""The Faust baselines' table store: Faust's default, so "the price of state" is Faust's own.
(RiskLoop keeps no Faust tables: its state is in memory per partition and in one changelog.)"""


def trial_tag(suffix: str, r: int, name: str) -> str:
    """The part of a trial's topic and group names that is that trial's alone: no tag is a
    substring of another (round and name are closed by what follows them in every name), so
    "every topic with the tag" is exactly what the trial wrote.

    >>> trial_tag("20261202-abc", 1, "faust_pass")
    '20261202-abc-r1-faust_pass'
    """
    return f"{suffix}-r{r}-{name}"


def pipeline_env(s: Settings) -> dict[str, str]:
    """Environment that makes ``python -m streams worker`` use exactly the run's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_TOPICS__")}
    env.update(
        {
            "RISKLOOP_APP_ID": s.app_id,
            "RISKLOOP_KAFKA_BROKER": s.kafka_broker,
            "RISKLOOP_WEB_PORT": str(s.web_port),
            "RISKLOOP_DATA_DIR": str(s.data_dir),
            "RISKLOOP_SQL_URL": s.sql_url,
            "RISKLOOP_REDIS_URL": s.redis_url,
            "RISKLOOP_LOG_FORMAT": "json",
            "RISKLOOP_TOPICS__PARTITIONS": str(harness.PARTITIONS),
        }
    )
    for name, value in s.topics.model_dump().items():
        if isinstance(value, str):
            env[f"RISKLOOP_TOPICS__{name.upper()}"] = value
    return env


def sql_target(settings: Settings, choice: str | None) -> str:
    """The SQL server a pipeline trial writes to: a PostgreSQL URL, or ``sqlite`` (a fresh file
    per trial). None follows RISKLOOP_SQL_URL; ``postgres`` with a SQLite setting means the dev
    stack's PostgreSQL.

    >>> s = Settings(_env_file=None)
    >>> sql_target(s, None), sql_target(s, "postgres").split("@")[1]
    ('sqlite', '127.0.0.1:5432/riskloop')
    """
    if choice is None:
        choice = "postgres" if services.is_postgres(settings.sql_url) else "sqlite"
    if choice == "sqlite":
        return "sqlite"
    if services.is_postgres(settings.sql_url):
        return settings.sql_url
    return settings.dev.postgres_url


def run_bench(settings: Settings, plan: Plan, out: Path, say: Say = print) -> dict[str, Any]:
    """Run the suite; returns the report and writes JSON, PNG and Markdown into ``out``."""
    machine = machine_info()  # first: the load average *before* the run
    sql = sql_target(settings, plan.sql)
    services.require(
        settings, "sqlite:///" if sql == "sqlite" else sql, start=plan.start_services, say=say
    )
    out.mkdir(parents=True, exist_ok=True)
    suffix = harness.run_suffix()
    with tempfile.TemporaryDirectory(prefix="riskloop-bench-") as tmp:
        try:
            report = _run(settings, plan, sql, suffix, Path(tmp), machine, say)
        finally:
            say(f"deleted {harness.delete_topics(settings, suffix)} leftover per-run topics")
    report["run"]["suffix"] = suffix
    report["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    stem = out / f"bench-{suffix}"
    files = [write_json(report, stem.with_suffix(".json"))]
    if not plan.quick:  # a smoke test has no figures worth a chart (and matplotlib takes seconds)
        files.append(write_chart(report, stem.with_suffix(".png")))
    files.append(stem.with_suffix(".md"))
    files[-1].write_text(markdown(report), encoding="utf-8")
    report["files"] = [str(f) for f in files]
    return report


@dataclass
class _Run:
    """What every trial of one run shares."""

    base: Settings
    plan: Plan
    sql: str
    suffix: str
    work: Path
    sources: dict[str, str]
    events: int
    bytes_in: int
    say: Say


def _run(
    base: Settings,
    plan: Plan,
    sql: str,
    suffix: str,
    work: Path,
    machine: dict[str, object],
    say: Say,
) -> dict[str, Any]:
    tail_n = min(max(plan.events, 1_000), 30_000)
    say(f"generating {plan.events + tail_n:,} events …")
    stream = generate(
        plan.events + tail_n, seed=plan.seed, entities=plan.entities, cover_by=plan.events
    )
    head, tail = stream[: plan.events], stream[plan.events :]
    sources = {k: f"bench.{suffix}.{v}" for k, v in base.topics.sources().items()}
    harness.create_topics(base, list(sources.values()))
    say(f"producing {len(head):,} events to bench.{suffix}.* …")
    bytes_in = harness.produce_all(base, head, sources)
    run = _Run(base, plan, sql, suffix, work, sources, len(head), bytes_in, say)

    say("micro-benchmarks …")
    micro = run_micro(base, head[: plan.micro_events], geo_points=plan.geo_points)

    trials: list[harness.Trial] = []
    latency: harness.Latency | None = None
    for r in range(1, plan.repeat + 1):
        say(f"round {r} of {plan.repeat}")
        if not plan.only_pipeline:
            trials.append(_raw(run, r))
            trials += [_faust(run, b, r) for b in plan.baselines()]
        last = r == plan.repeat
        pipe, lat = _pipeline(run, r, trials, tail if last else None)
        trials.append(pipe)
        latency = lat or latency
    if latency is None:
        raise BenchError("the latency run did not take place")
    return build_report(
        run={
            "events": plan.events,
            "seed": plan.seed,
            "quick": plan.quick,
            "repeat": plan.repeat,
            "entities": plan.entities,
            "only_pipeline": plan.only_pipeline,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "topics_prefix": f"bench.{suffix}.",
            "partitions": harness.PARTITIONS,
            "project": str(PROJECT_ROOT),
            "commit_interval": base.commit_interval,
            "commit_every": base.commit_every,
            "sql": "sqlite (a fresh file per trial)"
            if sql == "sqlite"
            else "postgresql (a fresh database per trial)",
            "store": BASELINE_STORE,
        },
        machine=machine,
        stream={"events": len(head), "bytes": bytes_in, "entities": entity_counts(head)},
        trials=trials,
        latency=latency,
        micro=micro,
    )


@contextmanager
def _counted(run: _Run, tag: str) -> Iterator[Callable[[], volume.Volume]]:
    """Snapshot the high watermarks of ``tag``'s topics now; the yielded function counts what
    was written since (waiting for the watermarks to settle). The topics are deleted after."""
    s = run.base
    topics = volume.tagged_topics(s, tag)
    volume.hold_compaction(s, list(topics))
    start = volume.high_watermarks(s, topics)

    def count() -> volume.Volume:
        end = _settled(s, tag)
        by_topic = volume.messages_by_topic(start, end)
        parts: dict[str, list[int]] = {}
        size, records = volume.read_bytes(s, start, end, parts=parts)
        return volume.Volume(
            events=run.events,
            bytes_in=run.bytes_in,
            messages=sum(by_topic.values()),
            bytes_out=sum(size.values()),
            records_read=records,
            by_topic={volume.short_topic(t, tag): n for t, n in sorted(by_topic.items())},
            bytes_by_topic={volume.short_topic(t, tag): n for t, n in sorted(size.items())},
            state_parts=dict(sorted(parts.items(), key=lambda kv: -kv[1][1])),
        )

    try:
        yield count
    finally:
        harness.delete_topics(s, tag)


def _settled(s: Settings, tag: str, timeout: float = 5.0) -> volume.Offsets:
    """High watermarks of ``tag``'s topics once two looks 0.3 s apart agree (everything the
    processor sent before its last commit is acknowledged by then; this catches stragglers)."""
    deadline = time.monotonic() + timeout
    last = volume.high_watermarks(s, volume.tagged_topics(s, tag))
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = volume.high_watermarks(s, volume.tagged_topics(s, tag))
        if now == last:
            break
        last = now
    return last


def _raw(run: _Run, r: int) -> harness.Trial:
    s, tag = run.base, trial_tag(run.suffix, r, "raw")
    output = f"bench.{tag}.out"
    harness.create_topics(s, [output])
    run.say("  raw confluent-kafka loop …")
    argv = [
        sys.executable,
        "-m",
        "bench.raw_loop",
        s.bootstrap_servers,
        f"bench-{tag}",
        output,
        *run.sources.values(),
    ]
    reader = probes.output_reader(s, output, harness.PARTITIONS, 1)
    return _baseline_trial(run, r, "raw", tag, argv, reader)


def _faust(run: _Run, b: Baseline, r: int) -> harness.Trial:
    s, tag = run.base, trial_tag(run.suffix, r, b.name)
    app_id, output = f"bench-{tag}", f"bench.{tag}.out"
    harness.create_topics(s, [output])
    harness.create_topics(s, changelogs(app_id, b.writes), compact=True)
    run.say(f"  {LABELS[b.name]} …")
    argv = [
        sys.executable,
        "-m",
        "bench.faust_baseline",
        s.kafka_broker,
        app_id,
        str(run.work / tag),
        output,
        *run.sources.values(),
        "--writes",
        str(b.writes),
        "--sends",
        str(b.sends),
        "--store",
        BASELINE_STORE if b.writes else "memory://",
        "--partitions",
        str(harness.PARTITIONS),
    ]
    reader = probes.output_reader(s, output, harness.PARTITIONS, b.sends)
    return _baseline_trial(run, r, b.name, tag, argv, reader)


def _baseline_trial(
    run: _Run, r: int, name: str, tag: str, argv: list[str], reader: probes.Reader
) -> harness.Trial:
    """Start a baseline (group ``bench-<tag>``), drain it, count what it wrote, stop it."""
    s = run.base
    with (
        _counted(run, tag) as count,
        harness.spawn(name, argv, f"bench-{tag}", run.work / f"{tag}.log") as p,
    ):
        m, stall = harness.drain(
            s, p, list(run.sources.values()), run.events, run.plan.timeout, reader=reader
        )
        vol = count()
        m.peak_rss_mib = peak_rss_bytes(p.proc.pid) / 2**20
    return harness.Trial(name, r, m, stall, vol)


def _pipeline(
    run: _Run, r: int, done: Sequence[harness.Trial], tail: Sequence[Any] | None
) -> tuple[harness.Trial, harness.Latency | None]:
    """One worker trial; with ``tail``, also the latency run on the same (idle) worker."""
    base, tag = run.base, trial_tag(run.suffix, r, "pipeline")
    topics = base.topics.model_copy(
        update={**harness.topic_overrides(f"bench.{tag}."), **run.sources}
    )
    with ExitStack() as stack:
        if run.sql == "sqlite":
            sql_url = f"sqlite:///{run.work / f'{tag}.db'}"
        else:
            sql_url = stack.enter_context(services.fresh_database(base, run.sql))
        s = base.with_overrides(
            app_id=f"bench-{tag}",
            topics=topics,
            data_dir=run.work / tag,
            sql_url=sql_url,
            web_port=free_port(),
        )
        admin.create_topics(s)
        url = f"http://127.0.0.1:{s.web_port}/metrics"
        run.say("  RiskLoop pipeline (python -m streams worker) …")
        count = stack.enter_context(_counted(run, tag))
        argv = [sys.executable, "-m", "streams", "worker"]
        p = stack.enter_context(
            harness.spawn("pipeline", argv, s.app_id, run.work / f"{tag}.log", pipeline_env(s))
        )
        inputs = list(run.sources.values())
        m, stall = harness.drain(
            s, p, inputs, run.events, run.plan.timeout, reader=probes.metrics_reader(url)
        )
        t = s.topics
        catch_up = harness.wait_idle(
            s, p, [t.task_commands, t.feedback, t.profile_events], run.plan.timeout
        )
        first = stall.first_read if stall.first_read is not None else m.startup_seconds
        e2e = time.monotonic() - p.started - first
        run.say(f"    downstream caught up {catch_up:.1f} s after ingest ({e2e:.1f} s in all)")
        vol = count()
        trial = harness.Trial("pipeline", r, m, stall, vol, e2e_seconds=e2e)
        latency = None
        if tail is not None:
            latency = _latency(run, s, p, [*done, trial], tail)
        trial.measured.peak_rss_mib = peak_rss_bytes(p.proc.pid) / 2**20
        trial.sinks = probes.sink_trouble(url)  # read last: the latency run counts too
    return trial, latency


def _latency(
    run: _Run,
    s: Settings,
    p: harness.Processor,
    trials: Sequence[harness.Trial],
    tail: Sequence[Any],
) -> harness.Latency:
    """Produce→alert latency at half the median end-to-end capacity of the pipeline trials."""
    capacities = [t.e2e_rate for t in trials if t.name == "pipeline" and t.e2e_rate]
    rate = max(statistics.median(capacities) * 0.5, 1.0)
    n = max(1, min(len(tail), int(rate * run.plan.latency_seconds)))
    run.say(f"    latency at {rate:,.0f} ev/s (half the end-to-end capacity) for {n:,} events …")
    lat = harness.measure_latency(
        s, tail[:n], run.sources, s.topics.alerts, rate, worker=p, settle=run.plan.settle_seconds
    )
    lat.capacity_per_second = rate * 2
    return lat
