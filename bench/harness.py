"""Broker-side measurement: per-run topics, pre-produced input, processes drained and timed.

Every processor (raw loop, Faust baselines, the RiskLoop worker) runs as its own subprocess so
its peak RSS and CPU time are its own. Progress is read from the committed offsets of its
consumer group, sampled every few milliseconds together with its CPU time (see
``bench.stats.sustained`` for why the middle of the drain is what counts, and
``bench.stats.Resolution`` for when a drain is too short to count at all). Beside the committed
offsets, how far the processor has *read* (``bench.probes``) gives the first-commit stall.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from confluent_kafka import OFFSET_END, Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from bench.procstat import clock_ticks, cpu_seconds, peak_rss_bytes
from bench.stats import BenchError, Resolution, Sample, resolve, sustained
from config.settings import Settings, TopicSettings
from streams.admin import wait_for_leaders
from streams.producer import make_producer

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from pathlib import Path

    from bench.probes import Reader
    from bench.volume import Volume
    from schemas.sample_stream import GeneratedEvent

POLL_SECONDS = 0.02
READ_EVERY = 0.5
STOP_GRACE = 1.0
PARTITIONS = 4


def run_suffix() -> str:
    """A unique, sortable suffix for this run's topic names and group ids."""
    return f"{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"


def topic_overrides(prefix: str) -> dict[str, str]:
    """Every topic-name field of TopicSettings → ``prefix + default``.

    Read from the settings model itself, so a topic added to settings later is isolated too.
    """
    out = {}
    for name, info in TopicSettings.model_fields.items():
        if isinstance(info.default, str):
            out[name] = f"{prefix}{info.default}"
    return out


def create_topics(settings: Settings, names: Sequence[str], *, compact: bool = False) -> None:
    """Create ``names`` with 4 partitions each through the AdminClient (compacted: changelogs)."""
    if not names:
        return
    client = AdminClient({"bootstrap.servers": settings.bootstrap_servers, "log_level": 0})
    config = {"cleanup.policy": "compact"} if compact else {}
    futures = client.create_topics(
        [
            NewTopic(n, num_partitions=PARTITIONS, replication_factor=1, config=config)
            for n in names
        ],
        operation_timeout=30,
    )
    for name, future in futures.items():
        try:
            future.result()
        except KafkaException as exc:
            raise BenchError(f"creating topic {name} failed: {exc.args[0].str()}") from exc
    timeout = 30.0
    pending = wait_for_leaders(client, names, timeout)
    if pending:
        raise BenchError(f"new topics without a leader after {timeout:.0f} s: {sorted(pending)}")


def delete_topics(settings: Settings, marker: str) -> int:
    """Delete every topic whose name contains this run's unique ``marker``; returns how many."""
    client = AdminClient({"bootstrap.servers": settings.bootstrap_servers, "log_level": 0})
    names = [t for t in client.list_topics(timeout=10).topics if marker in t]
    if names:
        for future in client.delete_topics(names, operation_timeout=30).values():
            with suppress(KafkaException):  # best effort: a leftover topic harms nothing
                future.result()
    return len(names)


def payload(event: GeneratedEvent) -> bytes:
    """The event's value bytes, as the sources' producers write it (UTF-8 JSON)."""
    return json.dumps(event.event, ensure_ascii=False).encode()


def produce_all(
    settings: Settings, events: Sequence[GeneratedEvent], topics: Mapping[str, str]
) -> int:
    """Write ``events`` to their source topics (murmur2, like every RiskLoop producer);
    returns the key + value bytes written (the "bytes read" of every processor)."""
    producer = make_producer(settings)
    size = 0
    for e in events:
        key, value = e.key.encode(), payload(e)
        size += len(key) + len(value)
        producer.produce(topics[e.source], key=key, value=value)
        producer.poll(0)
    if producer.flush(120):
        raise BenchError("the producer could not deliver the benchmark input within 120 s")
    return size


@dataclass
class Measured:
    """What one processor did: sustained rate, CPU per event, peak RSS, and whether the drain
    was long enough for the rate to mean anything (``resolution``)."""

    name: str
    events: int
    events_per_second: float
    cpu_us_per_event: float
    peak_rss_mib: float
    startup_seconds: float
    drain_seconds: float
    cpu_coarse: bool = False
    """True when the drain used under two clock ticks and CPU includes start-up."""
    resolution: Resolution = field(default_factory=lambda: Resolution(0.0, 0, 0.0, 0))

    @property
    def resolved(self) -> bool:
        """Whether the drain lasted long enough for the rate to mean anything."""
        return self.resolution.resolved

    def as_dict(self) -> dict[str, Any]:
        """The measurement as JSON, with ``resolution`` spelt out for the report."""
        out = {k: v for k, v in self.__dict__.items() if k != "resolution"}
        r = self.resolution
        out.update(
            window_seconds=r.window_seconds,
            commit_steps=r.steps,
            required_seconds=r.required_seconds,
            resolved=r.resolved,
            too_short=r.reason(),
            events_needed=r.events_needed,
        )
        return out


@dataclass
class Stall:
    """The first-commit stall of one drain, in seconds since the processor was started.

    ``first_read`` is when it was first seen to have read an event; ``exact`` is False when the
    first look already found events read (so the stall is at least ``seconds``, not exactly).
    """

    first_read: float | None = None
    first_commit: float | None = None
    max_uncommitted: float = 0.0
    exact: bool = False

    @property
    def seconds(self) -> float | None:
        """First event read → first offset committed."""
        if self.first_read is None or self.first_commit is None:
            return None
        return max(self.first_commit - self.first_read, 0.0)

    def as_dict(self) -> dict[str, Any]:
        """The stall as JSON, ``seconds`` included."""
        return {**self.__dict__, "seconds": self.seconds}


@dataclass
class Processor:
    """A running subprocess under measurement, its consumer group, and where its log goes."""

    name: str
    proc: subprocess.Popen[bytes]
    group: str
    log: Path
    started: float = field(default_factory=time.monotonic)

    def alive(self) -> None:
        """Fail fast with a ``BenchError`` and the log's last line if the processor exited."""
        if self.proc.poll() is not None:
            tail = self.log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no log)"]
            raise BenchError(
                f"{self.name} exited with {self.proc.returncode}: {tail[0][:200]} (see {self.log})"
            )


@dataclass
class Trial:
    """One run of one processor: throughput, stall, what it wrote, and (pipeline) more."""

    name: str
    round: int
    measured: Measured
    stall: Stall
    volume: Volume
    e2e_seconds: float | None = None
    """Pipeline: first event read → downstream stages (tasks, feedback, profiles) caught up."""
    sinks: dict[str, float] = field(default_factory=dict)

    @property
    def e2e_rate(self) -> float | None:
        """Events per second end to end (pipeline only); None when it was not measured."""
        return self.measured.events / self.e2e_seconds if self.e2e_seconds else None

    def as_dict(self) -> dict[str, Any]:
        """The trial as one flat JSON object for the report."""
        return {
            "round": self.round,
            **self.measured.as_dict(),
            "stall": self.stall.as_dict(),
            "volume": self.volume.as_dict(),
            "e2e_seconds": self.e2e_seconds,
            "e2e_events_per_second": self.e2e_rate,
            "sinks": self.sinks,
        }


@contextmanager
def spawn(
    name: str,
    argv: list[str],
    group: str,
    log: Path,
    env: Mapping[str, str] | None = None,
    *,
    grace: float = STOP_GRACE,
) -> Iterator[Processor]:
    """Start ``argv``; on exit, whatever happened, SIGTERM it and SIGKILL it after ``grace``
    seconds: once measured, nothing of a processor is needed (its topics, state folder and
    database are thrown away), and a worker's orderly shutdown takes seconds the run can use."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env or os.environ),
            start_new_session=True,
        )
    try:
        yield Processor(name, proc, group, log)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _group_reader(settings: Settings, group: str) -> Consumer:
    """A consumer of ``group`` that never subscribes nor commits: it only reads the offsets the
    processor under measurement committed, so asking does not move them."""
    return Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": group,
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )


def drain(
    settings: Settings,
    p: Processor,
    topics: Sequence[str],
    total: int,
    timeout: float,
    *,
    reader: Reader | None = None,
) -> tuple[Measured, Stall]:
    """Wait until ``p``'s group has committed ``total`` records of ``topics``; measure on the way.

    ``reader`` (events read so far) is asked every loop until the first commit, then every
    half second: often enough for the stall and the largest uncommitted backlog, rarely
    enough that answering it costs the processor little (the worker answers only the one
    counter asked for: bench/probes.py).
    """
    parts = [TopicPartition(t, i) for t in topics for i in range(PARTITIONS)]
    probe = _group_reader(settings, p.group)
    samples: list[Sample] = []
    stall = Stall()
    next_read = 0.0
    deadline = time.monotonic() + timeout
    try:
        while True:
            p.alive()
            done = sum(max(tp.offset, 0) for tp in probe.committed(parts, timeout=10))
            now = time.monotonic()
            samples.append(Sample(now, done, cpu_seconds(p.proc.pid)))
            if reader is not None and now >= next_read:
                _look(stall, reader(), done, now - p.started)
                next_read = now + (READ_EVERY if stall.first_commit is not None else 0.0)
            if done and stall.first_commit is None:
                stall.first_commit = now - p.started
            if done >= total:
                break
            if now > deadline:
                raise BenchError(f"{p.name} processed {done} of {total} events in {timeout:.0f} s")
            time.sleep(POLL_SECONDS)
        rss = peak_rss_bytes(p.proc.pid)
    finally:
        probe.close()
    d = sustained(samples, total)
    cpu_per_event = d.cpu_per_event
    coarse = d.cpu_seconds < 2.0 / clock_ticks()
    if coarse:  # under two clock ticks: use the whole process's CPU, start-up included
        cpu_per_event = samples[-1].cpu / total
    first_progress = next((s.at for s in samples if s.done), p.started)
    measured = Measured(
        name=p.name,
        events=total,
        events_per_second=d.rate,
        cpu_us_per_event=cpu_per_event * 1e6,
        peak_rss_mib=rss / 2**20,
        startup_seconds=first_progress - p.started,
        drain_seconds=samples[-1].at - first_progress,
        cpu_coarse=coarse,
        resolution=resolve(
            samples,
            total,
            settings.commit_interval,
            first_read=(None if stall.first_read is None else p.started + stall.first_read),
        ),
    )
    return measured, stall


def _look(stall: Stall, read: float | None, done: int, at: float) -> None:
    """Fold one look at the events read into ``stall``."""
    if read is None:
        return
    if read > 0 and stall.first_read is None:
        stall.first_read = at
    elif read <= 0:
        stall.exact = True  # seen at zero: the first positive look dates the first read
    stall.max_uncommitted = max(stall.max_uncommitted, read - done)


@dataclass
class Latency:
    """End-to-end latencies (ms) of events that raised an alert, at a fixed offered load."""

    offered_per_second: float
    events: int
    matched: list[float]
    capacity_per_second: float = 0.0
    """The end-to-end capacity the offered load was half of."""


def measure_latency(
    settings: Settings,
    events: Sequence[GeneratedEvent],
    topics: Mapping[str, str],
    alerts_topic: str,
    rate: float,
    *,
    settle: float = 10.0,
    worker: Processor | None = None,
) -> Latency:
    """Produce ``events`` at ``rate``/s; latency = alert received − event produced.

    An alert is matched by its ``correlation_id`` (the newest evidence event) and only its first
    alert counts, so later warning changes (escalations, timer ticks) do not inflate the tail.
    A consumer thread receives alerts while the main thread paces the producer.
    """
    produced: dict[str, float] = {}
    latencies: dict[str, float] = {}
    stop = threading.Event()
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": f"bench-lat-{uuid.uuid4().hex[:6]}",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    consumer.assign([TopicPartition(alerts_topic, i, OFFSET_END) for i in range(PARTITIONS)])
    lock = threading.Lock()

    def receive() -> None:
        while not stop.is_set():
            msg = consumer.poll(0.05)
            if msg is None or msg.error() is not None:
                continue
            at = time.time()
            try:
                cid = json.loads(msg.value() or b"{}").get("correlation_id", "")
            except ValueError:
                continue
            with lock:
                if cid in produced and cid not in latencies:
                    latencies[cid] = (at - produced[cid]) * 1000.0

    thread = threading.Thread(target=receive, name="bench-alerts", daemon=True)
    thread.start()
    time.sleep(1.0)  # let the assignment settle before the first event
    producer = make_producer(settings)
    t0 = time.monotonic()
    try:
        for i, e in enumerate(events):
            wait = t0 + i / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            with lock:
                produced[str(e.event["event_id"])] = time.time()
            producer.produce(topics[e.source], key=e.key.encode(), value=payload(e))
            producer.poll(0)
        offered = len(events) / max(time.monotonic() - t0, 1e-9)
        producer.flush(30)
        _settle(latencies, lock, settle, worker)
    finally:
        stop.set()
        thread.join(5)
        consumer.close()
    return Latency(offered, len(events), list(latencies.values()))


def _settle(
    latencies: dict[str, float], lock: threading.Lock, settle: float, worker: Processor | None
) -> None:
    """Wait until no new alert has matched for a second, at most ``settle`` seconds."""
    deadline = time.monotonic() + settle
    last, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        if worker is not None:
            worker.alive()
        with lock:
            n = len(latencies)
        if n != last:
            last, quiet_since = n, time.monotonic()
        elif n and time.monotonic() - quiet_since > 1.0:
            return
        time.sleep(0.1)


def wait_idle(settings: Settings, p: Processor, topics: Sequence[str], timeout: float) -> float:
    """Seconds until ``p``'s group has no lag on ``topics`` (its internal, downstream topics).

    The source-topic drain ends when ingest and scoring are done; tasks and profiles still have
    a backlog then, and a latency run started on top of it would measure that backlog.
    """
    parts = [TopicPartition(t, i) for t in topics for i in range(PARTITIONS)]
    probe = _group_reader(settings, p.group)
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < timeout:
            p.alive()
            lag = 0
            for tp in probe.committed(parts, timeout=10):
                _, high = probe.get_watermark_offsets(tp, timeout=10)
                lag += max(0, high - max(tp.offset, 0))
            if lag == 0:
                return time.monotonic() - t0
            time.sleep(0.2)
    finally:
        probe.close()
    raise BenchError(f"{p.name} still had a backlog on its internal topics after {timeout:.0f} s")
