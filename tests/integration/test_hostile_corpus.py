"""Issue #15's Done-when: the hostile corpus (tests/hostile/corpus.py) replayed through a real
worker with good records between them.

Every hostile record is dead-lettered exactly once with its reason (matched by the topic,
partition and offset it was written at); every good record's task opens (on its department's
topic and in PostgreSQL) and can be signed for; in = accepted + dead-lettered + duplicates holds
exactly per source on the worker's /metrics; the worker never exits, no agent crashed, /health
is 200. Black box only: topics, /metrics, /health and SQL, nothing of the worker's state.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sinks.sql import make_engine
from streams.admin import admin_client
from streams.deadletters import original_value
from streams.producer import make_producer
from tests.hostile import corpus
from tests.hostile.corpus import INGEST, LOOP, Case
from tests.integration.conftest import collect, tail_consumer
from tests.integration.test_closed_loop import postgres_database

if TYPE_CHECKING:
    from collections.abc import Callable

    from confluent_kafka import Consumer, KafkaError, Message

    from config.settings import Settings

SAMPLE = re.compile(r"^(riskloop_\w+_total)\{([^}]*)\} ([0-9.e+]+)$", re.M)
TASK_SOURCES = ("inspections", "complaints", "equipment")
"""Sources whose good records each open a task (a truck fix alone raises nothing)."""

Where = tuple[str, int, int]
"""(topic, partition, offset) a record was written at."""


class Sender:
    """Produces in order and records where each record landed (for matching dead letters)."""

    def __init__(self, s: Settings) -> None:
        self.s = s
        # a payload just over max_event_bytes (1 MB) is over librdkafka's default 1,000,000
        self.producer = make_producer(s, {"message.max.bytes": 2_000_000})
        self.where: dict[str, Where] = {}
        self.errors: list[str] = []

    def send(self, tag: str, source: str, key: bytes | None, value: bytes | None) -> None:
        def report(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                self.errors.append(f"{tag}: {err}")
            else:
                self.where[tag] = (msg.topic() or "", msg.partition() or 0, msg.offset() or 0)

        topic = getattr(self.s.topics, source)
        self.producer.produce(topic, key=key, value=value, on_delivery=report)
        self.producer.poll(0)

    def flush(self) -> None:
        assert self.producer.flush(60) == 0
        assert not self.errors, self.errors


def read_metrics(port: int) -> dict[tuple[str, str, str], float]:
    """(counter, source, reason) → value of every riskloop_*_total sample on /metrics."""
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out: Counter[tuple[str, str, str]] = Counter()
    for name, labels, value in SAMPLE.findall(body):
        parts = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        out[(name, parts.get("source", ""), parts.get("reason", ""))] += float(value)
    return dict(out)


def total(m: dict[tuple[str, str, str], float], name: str, source: str | None = None) -> float:
    return sum(v for (n, src, _), v in m.items() if n == name and source in (None, src))


def interleave(
    sender: Sender, cases: list[Case], run: str, now: datetime
) -> dict[str, tuple[str, str]]:
    """Send each hostile case, then a good record on the same partition (for a disposition,
    a good inspection). Returns good event id → (source, key)."""
    goods: dict[str, tuple[str, str]] = {}
    count: Counter[str] = Counter()
    for case in cases:
        source = case.source if case.source in corpus.GOOD else "inspections"
        key, value, event_id = corpus.good(source, run, count[source], now)
        count[source] += 1
        sender.send(case.name, case.source, case.key if case.key is not None else key, case.value)
        sender.send(event_id, source, key, value)
        goods[event_id] = (source, key.decode())
    return goods


def drain(consumer: Consumer, seconds: float) -> list[tuple[str, dict[str, Any]]]:
    """What arrives within ``seconds`` (JSON values), returning early once a poll is empty."""
    got: list[tuple[str, dict[str, Any]]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        msg = consumer.poll(0.2)
        if msg is None:
            break
        if not msg.error():
            got.append((msg.topic() or "", json.loads(msg.value() or b"{}")))
    return got


def wait_for(
    what: str,
    check: Callable[[], bool],
    proc: Any,
    timeout: float,
    every: float = 0.5,
    detail: Callable[[], str] = str,
) -> None:
    """Until ``check()``; fails at once if the worker process exits meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the worker exited ({proc.returncode}) while waiting: {what}"
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"timed out waiting: {what} {detail()}")


def test_hostile_corpus_is_dead_lettered_and_good_records_open_their_tasks(  # type: ignore[no-untyped-def]
    live_settings: Settings, worker
) -> None:
    run = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    cases = corpus.hostile(now, run)
    with postgres_database(live_settings) as url:
        s = live_settings.with_overrides(sql_url=url)
        t = s.topics
        task_topics = sorted(
            name
            for name in admin_client(s).list_topics(timeout=10).topics
            if name.startswith(t.task_prefix)
        )
        assert task_topics, "create_topics made no department topics"
        watch = tail_consumer(s.bootstrap_servers, [t.deadletter, t.task_events, *task_topics])
        proc = worker(s)

        sender = Sender(s)
        goods = interleave(sender, cases, run, now)
        sender.flush()
        hostile_at = {sender.where[c.name]: c for c in cases}
        good_at = {sender.where[e] for e in goods}
        expect_tasks = {e for e, (src, _) in goods.items() if src in TASK_SOURCES}

        # every hostile record dead-lettered, every good record's task out
        got: list[tuple[str, dict[str, Any]]] = []

        def seen() -> bool:
            got.extend(drain(watch, 2))
            letters = [v for topic, v in got if topic == t.deadletter]
            opened = {v.get("correlation_id") for topic, v in got if topic in task_topics}
            return len(letters) >= len(cases) and expect_tasks <= opened

        def missing() -> str:
            lettered = {
                (v["topic"], v["partition"], v["offset"]) for tp, v in got if tp == t.deadletter
            }
            opened = {v.get("correlation_id") for topic, v in got if topic in task_topics}
            return (
                f"(not dead-lettered: {[c.name for w, c in hostile_at.items() if w not in lettered]};"
                f" {len(expect_tasks - opened)} of {len(expect_tasks)} tasks not opened)"
            )

        wait_for("dead letters and tasks", seen, proc, timeout=60, every=0, detail=missing)

        tasks = {v["task_id"]: v for topic, v in got if topic in task_topics and "alert_id" in v}
        opened = {v["correlation_id"] for v in tasks.values()}
        assert expect_tasks <= opened, sorted(expect_tasks - opened)[:5]

        # good dispositions after the hostile ones: each task signed for by its department
        for n, (task_id, task) in enumerate(sorted(tasks.items())):
            body = corpus.disposition(task_id, task["department"], f"sign-{run}-{n}", now)
            sender.send(f"sign-{n}", "dispositions", task_id.encode(), corpus.encode(body))
        sender.flush()

        def signed() -> bool:
            got.extend(drain(watch, 2))
            done = {
                v["task_id"]
                for topic, v in got
                if topic == t.task_events and v.get("to_state") == "signed"
            }
            return set(tasks) <= done

        wait_for("every task signed", signed, proc, timeout=30, every=0)

        # the counters: settled, then exact per source
        m = settled_metrics(s, cases, goods, len(tasks), proc)
        assert_counters(m, cases, goods, len(tasks))

        # each hostile record dead-lettered exactly once, with its reason; no good one
        got.extend(collect(watch, lambda _: False, timeout=3))  # anything late or extra
        watch.close()
        letters = [v for topic, v in got if topic == t.deadletter]
        assert_dead_letters(s, letters, hostile_at)
        assert not good_at & {(v["topic"], v["partition"], v["offset"]) for v in letters}

        # the worker is alive and healthy; the task store holds every task, refused nothing
        assert proc.poll() is None, "the worker exited"
        health = urllib.request.urlopen(f"http://127.0.0.1:{s.web_port}/health", timeout=5)
        assert health.status == 200
        assert_stored(url, expect_tasks, len(tasks), proc)


# ---------------------------------------------------------------- checks


def expected_in(cases: list[Case], goods: dict[str, tuple[str, str]], signs: int) -> dict[str, int]:
    """Records sent per source: hostile, good, and the dispositions signing the tasks."""
    hostile = Counter(c.source for c in cases)
    good = Counter(src for src, _ in goods.values())
    extra = {"dispositions": signs}
    return {src: hostile[src] + good[src] + extra.get(src, 0) for src in corpus.KEY_FIELD}


def settled_metrics(
    s: Settings, cases: list[Case], goods: dict[str, tuple[str, str]], signs: int, proc: Any
) -> dict[tuple[str, str, str], float]:
    """/metrics once every record sent has been counted in and in an outcome."""
    sent_in = expected_in(cases, goods, signs)
    m: dict[tuple[str, str, str], float] = {}

    def settled() -> bool:
        nonlocal m
        try:
            m = read_metrics(s.web_port)
        except OSError:
            return False
        return all(
            total(m, "riskloop_events_in_total", src) == n
            and total(m, "riskloop_events_accepted_total", src)
            + total(m, "riskloop_events_deadlettered_total", src)
            + total(m, "riskloop_events_duplicate_total", src)
            == n
            for src, n in sent_in.items()
        )

    wait_for(f"counters to reach {sent_in}", settled, proc, timeout=20, detail=lambda: str(m))
    return m


def assert_counters(
    m: dict[tuple[str, str, str], float],
    cases: list[Case],
    goods: dict[str, tuple[str, str]],
    signs: int,
) -> None:
    """in = accepted + dead-lettered + duplicates, each term exactly what was sent."""
    good = Counter(src for src, _ in goods.values())
    for src, n in expected_in(cases, goods, signs).items():
        refused = Counter(c.reason for c in cases if c.source == src and c.stage == INGEST)
        later = sum(1 for c in cases if c.source == src and c.stage == LOOP)
        accepted = good[src] + later + (signs if src == "dispositions" else 0)
        assert total(m, "riskloop_events_in_total", src) == n, src
        assert total(m, "riskloop_events_accepted_total", src) == accepted, src
        assert total(m, "riskloop_events_duplicate_total", src) == 0, src
        by_reason = {
            r: v
            for (name, x, r), v in m.items()
            if name == "riskloop_events_deadlettered_total" and x == src
        }
        assert by_reason == {r: float(k) for r, k in refused.items()}, src
        assert n == accepted + sum(refused.values())
    loop = sum(1 for c in cases if c.stage == LOOP)
    assert total(m, "riskloop_dispositions_rejected_total") == loop
    assert total(m, "riskloop_agent_crashes_total") == 0


def assert_dead_letters(
    s: Settings, letters: list[dict[str, Any]], hostile_at: dict[Where, Case]
) -> None:
    """One dead letter per hostile record, with its reason, field and (a prefix of) its bytes
    (sealed under the test's dead-letter key: opened with it)."""
    places = Counter((v["topic"], v["partition"], v["offset"]) for v in letters)
    assert set(places) == set(hostile_at), (
        f"missing {[hostile_at[w].name for w in set(hostile_at) - set(places)]}, "
        f"unexpected {sorted(set(places) - set(hostile_at))[:5]}"
    )
    assert max(places.values()) == 1, [hostile_at[w].name for w, k in places.items() if k > 1]
    for letter in letters:
        case = hostile_at[(letter["topic"], letter["partition"], letter["offset"])]
        assert letter["reason"] == case.reason, (case.name, letter["reason"], letter["message"])
        if case.field is not None:
            assert letter["field"] == case.field, (case.name, letter["field"])
        payload = original_value(s, json.dumps(letter).encode())
        original = case.value or b""
        if payload != original:  # too big to keep whole: a prefix, its size and hash
            assert original.startswith(payload), case.name
            assert corpus.digest(original) in letter["message"], case.name


def assert_stored(url: str, expect_tasks: set[str], signs: int, proc: Any) -> None:
    """Every good record's task and every signature in PostgreSQL; no row set aside."""
    engine = make_engine(url)

    def stored() -> bool:
        with engine.connect() as conn:
            rows = {r[0] for r in conn.exec_driver_sql("SELECT correlation_id FROM tasks")}
            signed = conn.exec_driver_sql(
                "SELECT count(DISTINCT task_id) FROM task_events WHERE to_state = 'signed'"
            ).scalar_one()
        return expect_tasks <= rows and signed == signs

    try:
        wait_for("tasks and signatures in SQL", stored, proc, timeout=20, every=1)
        with engine.connect() as conn:
            rejected = conn.exec_driver_sql("SELECT sink, kind, reason FROM rejected_records")
            assert rejected.fetchall() == []
    finally:
        engine.dispose()
