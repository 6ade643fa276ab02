"""``riskloop bench --chaos``: reliability scenarios against real services, each with a verdict.

Every scenario feeds the same fixed input to a worker while something goes wrong (a worker is
SIGKILLed, a broker or database stops, rule packs are swapped every second, garbage arrives) and
compares what the worker left behind with an *uninterrupted reference run* of the same input:
the set of tasks ``(task_id, department, state)`` and audit rows ``(task_id, event_id, from,
to)`` in SQL. Task and event ids are deterministic, so the two sets must be equal.

* lost = reference rows the run does not have;
* duplicated = rows the run has and the reference does not (a second task or audit row);
* recovery = seconds from the end of the fault until every stage has caught up.

Each run lives on its own topics, consumer group, data folder and PostgreSQL database, all
removed afterwards. Scenarios that stop a broker or a database start their OWN instances on
free ports (:func:`own_stack`): the shared services on the default ports are never touched.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException

from bench.probes import events_read
from bench.stats import BenchError
from bench.workers import start_worker
from config.settings import DevStackSettings, Settings, TopicSettings
from infra import kafka, postgres, redis
from infra.ports import free_port
from schemas.sample_stream import generate
from streams.demo import group_lag, group_progress
from streams.producer import make_producer

Item = tuple[str, str, bytes]
"""(source or topic attribute, key, value): one record of a scenario's input."""
TaskRow = tuple[str, str, str]
AuditRow = tuple[str, str, str, str]
Say = Callable[[str], None]


@dataclass(frozen=True)
class Snapshot:
    """What a run left in the task store: task rows and audit rows."""

    tasks: frozenset[TaskRow]
    audit: frozenset[AuditRow]

    @property
    def rows(self) -> int:
        """Task and audit rows together: the size a scenario reports as checked."""
        return len(self.tasks) + len(self.audit)


@dataclass(frozen=True)
class Outcome:
    """One scenario's verdict and its numbers (a row of the RELIABILITY table)."""

    scenario: str
    events: int
    checked: int
    lost: int
    duplicated: int
    recovery_seconds: float | None
    correct: bool  # nothing lost, nothing duplicated, everything checked as expected
    note: str = ""
    speed_ok: bool = True  # a throughput comparison, where the scenario makes one

    @property
    def passed(self) -> bool:
        """Correct and, where the scenario compares speed, fast enough."""
        return self.correct and self.speed_ok

    def as_row(self) -> list[str]:
        """The RELIABILITY table's cells, in ``HEADER`` order."""
        rec = "—" if self.recovery_seconds is None else f"{self.recovery_seconds:.1f} s"
        verdict = "pass" if self.passed else "FAIL"
        return [
            self.scenario,
            f"{self.events:,}",
            f"{self.checked:,}",
            str(self.lost),
            str(self.duplicated),
            rec,
            verdict,
            self.note,
        ]


def compare(reference: Snapshot, run: Snapshot) -> tuple[int, int]:
    """(lost, duplicated) rows of ``run`` against ``reference``.

    >>> ref = Snapshot(frozenset({("t1", "d", "dispatched")}), frozenset({("t1", "e1", "", "created")}))
    >>> compare(ref, Snapshot(frozenset({("t1", "d", "dispatched"), ("t2", "d", "dispatched")}), frozenset()))
    (1, 1)
    """
    lost = len(reference.tasks - run.tasks) + len(reference.audit - run.audit)
    extra = len(run.tasks - reference.tasks) + len(run.audit - reference.audit)
    return lost, extra


def verdict(
    name: str,
    events: int,
    reference: Snapshot,
    run: Snapshot,
    recovery: float | None,
    *,
    ok: bool = True,
    note: str = "",
) -> Outcome:
    """An outcome from the SQL comparison (plus any scenario-specific condition ``ok``)."""
    lost, dup = compare(reference, run)
    if lost or dup:
        note = f"{note}; {differences(reference, run)}".lstrip("; ")
    return Outcome(
        name,
        events,
        reference.rows,
        lost,
        dup,
        recovery,
        ok and lost == 0 and dup == 0 and reference.rows > 0,
        note,
    )


def differences(reference: Snapshot, run: Snapshot, n: int = 2) -> str:
    """A few of the differing rows, to start an investigation from.

    >>> differences(Snapshot(frozenset({("t1", "d", "dispatched")}), frozenset()),
    ...             Snapshot(frozenset({("t1", "d", "created")}), frozenset()))
    "missing ('t1', 'd', 'dispatched'); extra ('t1', 'd', 'created')"
    """
    missing = sorted(reference.tasks - run.tasks) + sorted(reference.audit - run.audit)
    extra = sorted(run.tasks - reference.tasks) + sorted(run.audit - reference.audit)
    parts = []
    if missing:
        parts.append("missing " + ", ".join(str(r) for r in missing[:n]))
    if extra:
        parts.append("extra " + ", ".join(str(r) for r in extra[:n]))
    return "; ".join(parts)


HEADER = ["scenario", "events", "rows checked", "lost", "duplicated", "recovery", "result", "note"]


def markdown_table(outcomes: Sequence[Outcome]) -> str:
    """The results as a Markdown table (the format of bench/RELIABILITY.md).

    >>> print(markdown_table([Outcome("x", 10, 4, 0, 0, 1.25, True)]).splitlines()[2])
    | x | 10 | 4 | 0 | 0 | 1.2 s | pass |  |
    """
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(o.as_row()) + " |" for o in outcomes]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- input


def stream(count: int, start: datetime, seed: int = 21) -> list[Item]:
    """The fixed mixed input of every scenario: the same bytes for the reference and the run."""
    return [
        (e.source, e.key, json.dumps(e.event, ensure_ascii=False).encode())
        for e in generate(count, seed=seed, start=start, step_seconds=STEP_SECONDS)
    ]


STEP_SECONDS = 20  # event time between two generated records


def _default_start() -> datetime:
    """Two hours ago, whole seconds: the input lies in the past, so none is future-dated."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


def produce(s: Settings, items: Sequence[Item], pace: float = 0.0) -> None:
    """Write ``items`` to ``s``'s topics (murmur2), ``pace`` seconds apart if given."""
    p = make_producer(s)
    for source, key, value in items:
        p.produce(getattr(s.topics, source), key=key.encode(), value=value)
        p.poll(0)
        if pace:
            time.sleep(pace)
    if p.flush(60):
        raise BenchError("the producer could not deliver the scenario input within 60 s")


class Feed(threading.Thread):
    """:func:`produce` in the background, so a fault lands while input is still arriving.

    Written all at once, the input is read in well under a second by a fast worker: a kill
    once "half of it is left" then hit an idle worker with everything committed (2026-12-07:
    the group's lag was already 0 when the restarted worker was checked). Paced and in the
    background, the worker keeps up with it, and :func:`wait_processed` picks the moment.
    """

    def __init__(self, s: Settings, items: Sequence[Item], seconds: float = 7.5) -> None:
        super().__init__(name="chaos-feed", daemon=True)
        self.settings, self.items = s, items
        self.pace = seconds / max(len(items), 1)
        """Seconds between records, so the input takes ``seconds`` whatever its size (1,500
        records: one every 5 ms; CI's 240: every 31 ms): longer than a fast worker needs."""
        self.error: BaseException | None = None

    def run(self) -> None:
        """Write the input; what stops it is kept for :meth:`finish`."""
        try:
            produce(self.settings, self.items, self.pace)
        except BaseException as exc:  # handed to finish(), on the scenario's thread
            self.error = exc

    def finish(self, timeout: float = 120) -> None:
        """Wait for the rest of the input to be written; raise what stopped it."""
        self.join(timeout)
        if self.is_alive():
            raise BenchError(f"the scenario's input was not written within {timeout:.0f} s")
        if self.error is not None:
            raise self.error


def wait_processed(sp: Space, done: int, feed: Feed, timeout: float = 120) -> str:
    """Until the group has committed ``done`` source records; a fault now lands mid-stream if
    ``feed`` is still writing (input read and not yet committed, and more to come). Returns
    the moment, for the verdict's note: how many were committed and whether input was still
    arriving (on a machine too slow for the feed's pace it may not be: said, not failed)."""
    deadline = time.monotonic() + timeout
    topics = list(sp.settings.topics.sources().values())
    while time.monotonic() < deadline:
        sp.alive()
        try:
            committed, _ = group_progress(sp.settings, topics)
        except KafkaException as exc:  # a fresh topic's leader not elected yet: ask again
            _LAG_ERRORS.append(f"progress: {exc}")
            time.sleep(0.2)
            continue
        if committed >= done:
            arriving = "input still arriving" if feed.is_alive() else "after the input ended"
            return f"at {committed} of {len(feed.items)} committed, {arriving}"
        time.sleep(0.05)
    raise BenchError(f"the worker did not commit {done} records within {timeout:.0f} s")


# ---------------------------------------------------------------------------- one run's space


@contextlib.contextmanager
def database(dev: DevStackSettings) -> Iterator[str]:
    """A fresh PostgreSQL database on ``dev``'s server for one run; dropped afterwards.

    The URL carries the server's generated password: the runs hand it to workers of a private
    stack as well as the shared one, and read the results with it (a throwaway database on a
    loopback dev server; a settings repr stars it).
    """
    name = f"rl_chaos_{uuid.uuid4().hex[:10]}"
    with postgres.connect(dev) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres.url(dev, name).render_as_string(hide_password=False)
    finally:
        with contextlib.suppress(Exception), postgres.connect(dev) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Space:
    """One run's private topics, group, data folder and database, and its worker processes."""

    settings: Settings
    work: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_worker(self, **overrides: Any) -> subprocess.Popen[bytes]:
        """Start ``riskloop worker`` (same group; overrides e.g. another data_dir or port)."""
        s = self.settings.with_overrides(**overrides) if overrides else self.settings
        log = self.work / f"worker-{len(self.procs)}.log"
        proc = start_worker(s, log)
        self.procs.append(proc)
        return proc

    def wait_ready(self, proc: subprocess.Popen[bytes], timeout: float = 120) -> float:
        """Until the worker ``proc`` (on this space's web port) answers ``/ready`` with 200:
        consuming, its partitions restored, the control topics read. Returns the seconds it
        took.

        Why: a :class:`Feed` started beside a worker still importing and joining its group
        (5–10 s on a loaded 2-core machine) was mostly written before the worker read a
        record, so it then read a backlog, and a kill "at half" came at 83–87 % of the input,
        once after the input had ended (2026-12-07 23:27, ``--chaos --scenario sigkill``,
        three runs; bench/RELIABILITY.md). Fed once it is ready, the worker reads the input
        as it arrives, and the kill came at 50–62 % in the five runs after the change."""
        url = f"http://127.0.0.1:{self.settings.web_port}/ready"
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if proc.poll() is not None:
                raise BenchError(f"the worker exited with {proc.returncode}; see {self.work}")
            try:
                with urllib.request.urlopen(url, timeout=2.0) as response:
                    if response.status == 200:
                        return time.monotonic() - start
            except OSError:  # not listening yet, or 503 while not ready
                pass
            time.sleep(0.2)
        raise BenchError(f"the worker was not ready within {timeout:.0f} s; see {self.work}")

    def second_worker(self, n: int = 1) -> subprocess.Popen[bytes]:
        """Another member of the same consumer group, with its own data folder and port."""
        return self.start_worker(data_dir=self.work / f"worker-{n}", web_port=free_port())

    def stop_workers(self) -> None:
        """SIGTERM every worker and wait 30 s for each, then SIGKILL, so none outlives the run."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def alive(self) -> None:
        """Fail fast with a ``BenchError`` if a worker died that a scenario did not SIGKILL."""
        dead = [p for p in self.procs if p.poll() not in (None, -signal.SIGKILL)]
        if dead:
            raise BenchError(f"a worker exited with {dead[0].returncode}; see {self.work}")


@contextlib.contextmanager
def space(
    base: Settings,
    work: Path,
    *,
    sql_url: str,
    kafka_broker: str | None = None,
    redis_url: str | None = None,
) -> Iterator[Space]:
    """A run's private namespace on ``kafka_broker`` (default: the base broker)."""
    from streams.admin import admin_client, create_topics

    run = uuid.uuid4().hex[:8]
    work = work / f"run-{run}"
    work.mkdir(parents=True)
    # The online models on: each partition has its own, in its checkpoint with the offsets it
    # absorbed (streams/model_state.py), so a model-raised warning is the same run to run and
    # after any fault; every worker of a run shares one snapshot key. Silences
    # run on event time only: a quiet partition's clock following the wall clock after
    # ``idle_clock_after`` would fire the stream's trailing silences in whichever run idled
    # longer before its snapshot.
    s = base.with_overrides(
        models_enabled=True,
        snapshot_key=secrets.token_hex(32),
        idle_clock_after=0,
        app_id=f"riskloop-chaos-{run}",
        data_dir=work / "worker-0",
        sql_url=sql_url,
        web_port=free_port(),
        log_format="json",
        topics=TopicSettings.for_run(run),
        kafka_broker=kafka_broker or base.kafka_broker,
        redis_url=redis_url or base.redis_url,
    )
    create_topics(s)
    sp = Space(s, work)
    try:
        yield sp
    finally:
        sp.stop_workers()
        with contextlib.suppress(Exception):
            admin = admin_client(s)
            mine = [t for t in admin.list_topics(timeout=10).topics if run in t]
            for future in admin.delete_topics(mine, operation_timeout=30).values() if mine else []:
                with contextlib.suppress(Exception):
                    future.result()


# ---------------------------------------------------------------------------- observation


def _stage_topics(s: Settings) -> list[str]:
    """Every topic the worker reads: the run is caught up only when all of them are."""
    t = s.topics
    return [*t.sources().values(), t.task_commands, t.feedback, t.profile_events, t.dispositions]


def safe_lag(s: Settings, topics: list[str]) -> int | None:
    """The group's lag on ``topics`` (summed topic by topic), None while it cannot be read.

    One request per topic: while a group rebalances after a member died, a single offset
    fetch for every partition at once can keep timing out where small ones answer.
    """
    total = 0
    for topic in topics:
        try:
            total += group_lag(s, [topic])
        except Exception as exc:
            _LAG_ERRORS.append(f"{topic}: {exc}")
            return None
    return total


_LAG_ERRORS: list[str] = []


def wait_caught_up(sp: Space, timeout: float = 180) -> float:
    """Seconds until every stage's group lag is zero (three checks in a row)."""
    t0 = time.monotonic()
    deadline, zeros = t0 + timeout, 0
    topics = _stage_topics(sp.settings)
    while zeros < 3:
        if time.monotonic() > deadline:
            raise BenchError(f"the worker did not catch up in {timeout:.0f} s; see {sp.work}")
        sp.alive()
        zeros = zeros + 1 if safe_lag(sp.settings, topics) == 0 else 0
        time.sleep(0.5)
    return time.monotonic() - t0 - 1.0  # the two confirming checks are not recovery


def sql_snapshot(url: str) -> Snapshot:
    """The task and audit rows at ``url``: what a run is compared by, against the reference."""
    from sinks.sql import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tasks = frozenset(
                (r[0], r[1], r[2])
                for r in conn.exec_driver_sql("SELECT task_id, department, state FROM tasks")
            )
            audit = frozenset(
                (r[0], r[1], r[2] or "", r[3])
                for r in conn.exec_driver_sql(
                    "SELECT task_id, event_id, from_state, to_state FROM task_events"
                )
            )
    except Exception:  # not migrated yet, or the server is away
        return Snapshot(frozenset(), frozenset())
    finally:
        engine.dispose()
    return Snapshot(tasks, audit)


def wait_sql(url: str, want: Snapshot | None = None, timeout: float = 90) -> Snapshot:
    """SQL sinks batch: until the store equals ``want``, or two reads 3 s apart agree."""
    deadline = time.monotonic() + timeout
    last = sql_snapshot(url)
    while time.monotonic() < deadline:
        if want is not None and last == want:
            return last
        time.sleep(3 if want is None else 0.5)
        now = sql_snapshot(url)
        if want is None and now == last and now.rows:
            return now
        last = now
    return last


def recovered(
    sp: Space, url: str, reference: Snapshot, since: float, timeout: float = 180
) -> tuple[Snapshot, float]:
    """The end of a kill or outage: once the worker has caught up (within ``timeout``) and the
    SQL store settled on ``reference``, what it holds and the seconds since ``since`` (a
    ``time.monotonic()`` taken when the fault ended): the run and recovery of a verdict."""
    wait_caught_up(sp, timeout=timeout)
    return wait_sql(url, reference), time.monotonic() - since


def read_topic(s: Settings, topics: list[str], idle: float = 3.0) -> list[tuple[str, bytes]]:
    """Every record of ``topics`` (private to the run) from the beginning."""
    c = Consumer(
        {
            "bootstrap.servers": s.bootstrap_servers,
            "group.id": f"read-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    c.subscribe(topics)
    out: list[tuple[str, bytes]] = []
    until = time.monotonic() + idle + 5
    while time.monotonic() < until:
        msg = c.poll(0.5)
        if msg is not None and not msg.error():
            out.append((msg.topic() or "", msg.value() or b""))
            until = time.monotonic() + idle
    c.close()
    return out


# ---------------------------------------------------------------------------- own services


@contextlib.contextmanager
def own_stack(shared: DevStackSettings, services: Sequence[str]) -> Iterator[DevStackSettings]:
    """Our OWN Kafka/Redis/PostgreSQL on free ports in a private state folder, stopped after.

    The folder is made by ``mkdtemp`` and opened to 755: PostgreSQL runs as ``postgres`` and
    must reach it. Kafka's cached Maven jars are symlinked in, so nothing is downloaded.
    """
    state = Path(tempfile.mkdtemp(prefix="riskloop-chaos-"))
    state.chmod(0o755)
    jars = kafka.jars_dir(shared)
    if jars.exists():
        (state / jars.name).symlink_to(jars)
    dev = DevStackSettings(
        state_dir=state,
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        redis_port=free_port(),
        postgres_port=free_port(),
        start_timeout=90,
    )
    modules = {"kafka": kafka, "redis": redis, "postgres": postgres}
    started: list[str] = []
    try:
        for name in services:
            modules[name].start(dev)
            started.append(name)
        yield dev
    finally:
        for name in reversed(started):
            with contextlib.suppress(Exception):
                modules[name].stop(dev)
        shutil.rmtree(state, ignore_errors=True)


# ---------------------------------------------------------------------------- the suite


@dataclass
class Reference:
    """The uninterrupted run of the input: its SQL snapshot and its source drain rate."""

    snapshot: Snapshot
    events_per_second: float


def measure_drain(sp: Space, total: int, timeout: float = 180) -> float:
    """Source records per second while the worker reads them, from its own counter.

    ``riskloop_events_in_total`` on the first worker's /metrics, polled every 20 ms: the rate
    between the first poll that sees records read and the one that sees all ``total`` (so
    start-up is not counted, and the resolution is not the offset-commit interval).
    """
    first: tuple[float, float] | None = None
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{sp.settings.web_port}/metrics"
    while time.monotonic() < deadline:
        sp.alive()
        read = events_read(url)
        now = time.monotonic()
        if read is not None and read > 0 and first is None:
            first = (now, read)
        if read is not None and read >= total and first is not None:
            span, counted = now - first[0], read - first[1]
            if counted < total / 2:  # read faster than the polls could follow
                return total / max(now - first[0], 0.02)
            return counted / max(span, 0.02)
        time.sleep(0.02)
    raise BenchError(f"the worker did not read {total} records in {timeout:.0f} s")


@dataclass
class Context:
    """What every scenario gets: settings, a work folder, the input and the shared reference."""

    base: Settings
    work: Path
    events: int
    say: Say = print
    start: datetime = field(default_factory=_default_start)
    compare_speed: bool = True  # off in tests: speed is for benchmarks, not assertions
    _reference: Reference | None = None

    def items(self) -> list[Item]:
        """The scenario's input: ``events`` records, 20 s apart, all in the past."""
        # the whole input lies in the past, however many events (20 s apart): none is rejected
        # as future-dated, whatever ``events`` is
        return stream(self.events, self.start - timedelta(seconds=STEP_SECONDS * self.events))

    def reference(self) -> Reference:
        """Run the input once, uninterrupted (computed once, shared by every scenario)."""
        if self._reference is None:
            self.say(f"reference run: {self.events} events, uninterrupted …")
            items = self.items()
            with database(self.base.dev) as url, space(self.base, self.work, sql_url=url) as sp:
                produce(sp.settings, items)
                sp.start_worker()
                rate = measure_drain(sp, len(items))
                wait_caught_up(sp)
                self._reference = Reference(wait_sql(url), rate)
            self.say(f"reference: {self._reference.snapshot.rows} rows, {rate:,.0f} ev/s")
        return self._reference


def keep_logs(work: Path, into: Path) -> Path:
    """Copy every worker log under ``work`` (the folder itself is deleted after the run)."""
    for log in work.rglob("worker-*.log"):
        target = into / log.relative_to(work)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, target)
    return into


def run_chaos(
    settings: Settings, names: Sequence[str] | None, events: int, out: Path, say: Say = print
) -> list[Outcome]:
    """Run the named scenarios (all by default); write the table to ``out``; return outcomes."""
    from bench.scenarios import SCENARIOS, select
    from streams import admin

    admin.require_broker(settings)
    chosen = select(names)
    out.mkdir(parents=True, exist_ok=True)
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="riskloop-chaos-") as tmp:
        ctx = Context(settings, Path(tmp), events, say)
        for name in chosen:
            say(f"scenario {name}: {SCENARIOS[name].description}")
            try:
                outcome = SCENARIOS[name].run(ctx)
            except BenchError as exc:
                outcome = Outcome(name, events, 0, 0, 0, None, False, f"error: {exc}"[:160])
            say(f"  → {'pass' if outcome.passed else 'FAIL'} {outcome.note}")
            if not outcome.passed:
                say(f"  worker logs kept in {keep_logs(ctx.work, out / f'logs-{name}')}")
            outcomes.append(outcome)
    stamp = time.strftime("%Y%m%d%H%M%S")
    (out / f"reliability-{stamp}.md").write_text(
        f"# Reliability ({time.strftime('%Y-%m-%d %H:%M')}, {events} events per run)\n\n"
        + markdown_table(outcomes),
        encoding="utf-8",
    )
    return outcomes
