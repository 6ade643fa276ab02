"""The closed loop on real Kafka, PostgreSQL and Redis (issue: closed loop, Done-when).

A realistic mixed stream raises warnings; each that needs one produces exactly one task on its
department's topic; dispositions (good and invalid) come back; deadlines pass on a fast clock
and raise 催办/督办; a task's audit trail reads as its full story; the same stream replayed yields
no second task. And a worker SIGKILLed mid-stream and again mid-dispositions, then restarted,
ends with the same tasks, states and audit rows as an uninterrupted run (streams/once.py).
"""

from __future__ import annotations

import json
import signal
import time
import urllib.request
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from confluent_kafka import Consumer

from bench.chaos import database
from config.settings import Settings, TopicSettings
from schemas.records import TaskState
from schemas.sample_stream import generate
from sinks.sql import SqlStore, make_engine
from streams.deadletters import original_value
from streams.demo import group_lag
from streams.producer import make_producer

if TYPE_CHECKING:
    from collections.abc import Iterator

T_START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


@contextmanager
def postgres_database(s: Settings) -> Iterator[str]:
    """A fresh PostgreSQL database on the dev server for one run; dropped afterwards."""
    with database(s.dev) as url:
        yield url


def stream() -> list[tuple[str, str, bytes]]:
    """(topic attribute, key, value) of a fixed mixed stream: the same bytes every time."""
    return [
        (e.source, e.key, json.dumps(e.event, ensure_ascii=False).encode())
        for e in generate(240, seed=21, start=T_START, step_seconds=20)
    ]


def produce(s: Settings, items: list[tuple[str, str, bytes]]) -> None:
    p = make_producer(s)
    for source, key, value in items:
        p.produce(getattr(s.topics, source), key=key.encode(), value=value)
    assert p.flush(30) == 0


def wait_caught_up(s: Settings, timeout: float = 120) -> None:
    """Until every stage's consumer group has nothing left (three checks in a row)."""
    t = s.topics
    topics = [
        *t.sources().values(),
        t.task_commands,
        t.feedback,
        t.profile_events,
        t.dispositions,
        t.rekeyed,
    ]
    deadline, zeros = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and zeros < 3:
        try:
            zeros = zeros + 1 if group_lag(s, topics) == 0 else 0
        except Exception:
            zeros = 0
        time.sleep(1)
    if zeros < 3:
        behind = {}
        for topic in topics:
            try:
                behind[topic] = group_lag(s, [topic])
            except Exception as exc:
                behind[topic] = repr(exc)
        raise AssertionError(f"the worker did not catch up: {behind}")


def read_topic(s: Settings, topics: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """Everything on ``topics`` (private to this test) from the beginning."""
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
    out: list[tuple[str, dict[str, Any]]] = []
    idle = time.monotonic() + 8
    while time.monotonic() < idle:
        msg = c.poll(0.5)
        if msg is not None and not msg.error():
            out.append((msg.topic() or "", json.loads(msg.value() or b"{}")))
            idle = time.monotonic() + 3
    c.close()
    return out


def sql_snapshot(url: str) -> tuple[set[tuple[str, str, str]], set[tuple[str, str, str, str]]]:
    """(task id, department, state) and (task id, event id, from, to) rows in the task store."""
    engine = make_engine(url)
    with engine.connect() as conn:
        tasks = {
            (r[0], r[1], r[2])
            for r in conn.exec_driver_sql("SELECT task_id, department, state FROM tasks")
        }
        audit = {
            (r[0], r[1], r[2] or "", r[3])
            for r in conn.exec_driver_sql(
                "SELECT task_id, event_id, from_state, to_state FROM task_events"
            )
        }
    engine.dispose()
    return tasks, audit


def wait_sql_stable(url: str, timeout: float = 60) -> tuple[set[Any], set[Any]]:
    """SQL sinks batch: wait until two reads 3 s apart agree (and are not empty)."""
    deadline = time.monotonic() + timeout
    last = sql_snapshot(url)
    while time.monotonic() < deadline:
        time.sleep(3)
        now = sql_snapshot(url)
        if now == last and now[0]:
            return now
        last = now
    raise AssertionError("the task store did not settle")


_steps = iter(range(1, 10_000))


def dispose(
    s: Settings, task_id: str, department: str, action: str, after: str = "", **extra: Any
) -> str:
    """Send a disposition stamped a few seconds after ``after`` (the task's creation on the
    worker's fast clock), as a department would act after receiving it."""
    event_id = f"disp-{uuid.uuid4().hex[:12]}"
    at = (
        datetime.fromisoformat(after) + timedelta(seconds=next(_steps))
        if after
        else datetime.now(UTC)
    )
    body = {
        "event_id": event_id,
        "event_time": at.isoformat(),
        "task_id": task_id,
        "department": department,
        "action": action,
        "actor": f"{department}-officer",
        **extra,
    }
    p = make_producer(s)
    p.produce(
        s.topics.dispositions,
        key=task_id.encode(),
        value=json.dumps(body, ensure_ascii=False).encode(),
    )
    assert p.flush(10) == 0
    return event_id


def test_mixed_stream_tasks_dispositions_supervision_audit_replay(
    live_settings: Settings, worker
) -> None:  # type: ignore[no-untyped-def]
    with postgres_database(live_settings) as url:
        s = live_settings.with_overrides(sql_url=url, clock_speed=720.0, timer_interval=0.5)
        worker(s)
        produce(s, stream())
        wait_caught_up(s)
        prefix = s.topics.task_prefix
        seen = read_topic(s, [s.topics.alerts, f"^{prefix.replace('.', '[.]')}.*"])
        alerts = [v for t, v in seen if t == s.topics.alerts]
        tasks = [
            (t, v)
            for t, v in seen
            if t.startswith(prefix)
            and t != s.topics.task_events
            and "task_id" in v
            and "alert_id" in v
        ]
        assert alerts
        assert tasks
        # exactly one task per warning, on its department's topic
        by_alert: dict[str, set[str]] = {}
        for topic, task in tasks:
            assert topic == f"{prefix}{task['department']}"
            by_alert.setdefault(task["alert_id"], set()).add(task["task_id"])
        assert all(len(ids) == 1 for ids in by_alert.values())
        # a warning raised by the same event as a higher one on its entity joins that one's
        # task (one incident, one case: loop.warnings.join_cases) instead of opening its own
        joined = {a["alert_id"]: a["case_task_id"] for a in alerts if a.get("case_task_id")}
        tasked_levels = {
            a["alert_id"]
            for a in alerts
            if not a["shadow"]
            and a["level"] in {"red", "orange", "yellow"}
            and a["state"] in {"new", "escalated", "updated", "suppressed"}
            and a["alert_id"] not in joined
        }
        assert tasked_levels <= set(by_alert), "a warning at or above yellow got no task"
        task_ids = {next(iter(ids)) for ids in by_alert.values()}
        assert set(joined.values()) <= task_ids, "a warning joined a case that has no task"
        assert not set(joined) & set(by_alert), "a warning in a case got a task of its own"
        assert joined, "no warning joined a case: the case rule was never exercised"
        # a joiner more urgent than its case's lead raised the case's task (loop.cases)
        rank = {"blue": 1, "yellow": 2, "orange": 3, "red": 4}
        latest = {task["task_id"]: task for _, task in tasks}  # topics keep the newest last
        joined_at: dict[str, str] = {}
        for a in alerts:
            if a.get("case_task_id"):
                joined_at.setdefault(a["alert_id"], a["level"])
        for alert_id, level in joined_at.items():
            case_level = latest[joined[alert_id]]["level"]
            assert rank[case_level] >= rank[level], (alert_id, level, case_level)

        # dispositions: one full story, one return, three invalid ones
        unraised = sorted(  # a raised case task's audit trail has one more row
            (t for t in latest.values() if t["task_id"] not in set(joined.values())),
            key=lambda t: t["task_id"],
        )
        st, rt_ = unraised[:2]
        t0, r0 = st["created_at"], rt_["created_at"]
        dispose(s, st["task_id"], st["department"], "sign", after=t0)
        dispose(s, st["task_id"], st["department"], "start", after=t0)
        dispose(
            s,
            st["task_id"],
            st["department"],
            "dispose",
            after=t0,
            result="confirmed",
            evidence=["现场照片-001.jpg"],
        )
        dispose(s, st["task_id"], "risk_centre", "close", after=t0)
        dispose(s, rt_["task_id"], rt_["department"], "return", after=r0, reason="不属本单位管辖")
        bad = [
            dispose(s, "task-does-not-exist", "hz_market", "sign"),
            dispose(s, rt_["task_id"], "not_the_department", "sign"),
            dispose(
                s, st["task_id"], st["department"], "sign"
            ),  # already closed: invalid transition
        ]
        wait_caught_up(s)
        time.sleep(8)  # fast clock: 8 s = 96 min; red tasks are overdue, 催办 and 督办 raised

        dead = read_topic(s, [s.topics.deadletter])
        rejected = {
            json.loads(original_value(s, json.dumps(v).encode()))["event_id"]: v["reason"]
            for _, v in dead
            if v["source"] == "dispositions"
        }
        assert rejected == dict(
            zip(bad, ["unknown_task", "wrong_department", "invalid_transition"], strict=True)
        )

        supervision = [v for _, v in read_topic(s, [s.topics.supervision])]
        kinds = {v["kind"] for v in supervision}
        assert {"reminder", "supervision"} <= kinds, kinds
        assert st["task_id"] not in {
            v["task_id"] for v in supervision if v["at"] > datetime.now(UTC).isoformat()
        }
        assert len({v["event_id"] for v in supervision}) == len(supervision), (
            "a ladder step was raised twice"
        )

        store = SqlStore(make_engine(url))
        try:
            deadline = time.monotonic() + 60
            story = store.task_with_audit(st["task_id"])
            while (
                story is None
                or not story.events
                or story.events[-1].to_state is not TaskState.closed
            ) and time.monotonic() < deadline:
                time.sleep(1)
                story = store.task_with_audit(st["task_id"])
            assert story is not None
            assert story.task is not None
            path = [e.to_state.value for e in story.events]
            when = [(e.to_state.value, e.at.isoformat()) for e in story.events]
            assert path == [
                "created",
                "dispatched",
                "signed",
                "in_progress",
                "disposed",
                "closed",
            ], (when, st["created_at"])
            assert story.events[2].actor == f"{st['department']}-officer"
            returned = store.task_with_audit(rt_["task_id"])
            assert returned is not None
            assert returned.task is not None
            assert TaskState.returned.value in [e.to_state.value for e in returned.events]
            assert returned.task.department != rt_["department"], "a returned task is re-routed"
        finally:
            store.close()

        # the same stream again: every record is a duplicate, no second task anywhere
        produce(s, stream())
        wait_caught_up(s)
        again = read_topic(s, [f"^{prefix.replace('.', '[.]')}.*"])
        new_ids = {
            v["task_id"] for t, v in again if t != s.topics.task_events and "alert_id" in v
        } - task_ids
        assert not new_ids, f"replay created tasks {new_ids}"


pytestmark = pytest.mark.timeout(420)


def _dispositions(
    tasks: dict[str, tuple[str, str]],
) -> list[tuple[str, str, str, dict[str, Any]]]:
    """The same departments' answers for both runs: (task id, department, action, extra), in
    order, with event ids fixed by the task and step. Every third task is returned."""
    out: list[tuple[str, str, str, dict[str, Any]]] = []
    for i, task_id in enumerate(sorted(tasks)):
        department = tasks[task_id][0]
        if i % 3 == 2:
            out.append((task_id, department, "return", {"reason": "不属本单位管辖"}))
            continue
        out.append((task_id, department, "sign", {}))
        out.append((task_id, department, "start", {}))
        result = "confirmed" if i % 2 else "not_confirmed"
        out.append(
            (task_id, department, "dispose", {"result": result, "evidence": ["现场照片.jpg"]})
        )
        if i % 4 == 0:
            out.append((task_id, "risk_centre", "close", {}))
    return out


def _send_dispositions(
    s: Settings, url: str, steps: list[tuple[str, str, str, dict[str, Any]]]
) -> None:
    engine = make_engine(url)
    with engine.connect() as conn:
        created = {
            r[0]: r[1] for r in conn.exec_driver_sql("SELECT task_id, created_at FROM tasks")
        }
    engine.dispose()
    p = make_producer(s)
    for n, (task_id, department, action, extra) in enumerate(steps):
        at = _as_utc(created[task_id]) + timedelta(seconds=n + 1)
        body = {
            "event_id": f"disp-{task_id}-{n}",
            "event_time": at.isoformat(),
            "task_id": task_id,
            "department": department,
            "action": action,
            "actor": f"{department}-officer",
            **extra,
        }
        p.produce(
            s.topics.dispositions,
            key=task_id.encode(),
            value=json.dumps(body, ensure_ascii=False).encode(),
        )
    assert p.flush(10) == 0


def _as_utc(value: Any) -> datetime:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _metric(s: Settings, name: str, label: str = "") -> float:
    """The sum of ``name`` (samples whose labels contain ``label``) on the worker's /metrics."""
    url = f"http://127.0.0.1:{s.web_port}/metrics"
    body = urllib.request.urlopen(url, timeout=5).read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line.startswith(name + "{") and label in line
    )


def _wait_ready(s: Settings, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (
                urllib.request.urlopen(f"http://127.0.0.1:{s.web_port}/ready", timeout=2).status
                == 200
            ):
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError("the restarted worker never got ready")


def _alerts_written(s: Settings) -> int:
    """Messages on the alerts topic: the worker is handling events (outputs go out at once)."""
    from tests.integration.conftest import high_watermark

    c = Consumer({"bootstrap.servers": s.bootstrap_servers, "group.id": "watermarks"})
    try:
        return sum(high_watermark(c, s.topics.alerts, p) for p in range(s.topics.partitions))
    finally:
        c.close()


def _written(s: Settings) -> int:
    """How many records the worker's checkpoints have written to its state changelog."""
    from streams.checkpoint import changelog_topic
    from tests.integration.conftest import high_watermark

    c = Consumer({"bootstrap.servers": s.bootstrap_servers, "group.id": "watermarks"})
    try:
        topic = changelog_topic(s.app_id)
        return sum(high_watermark(c, topic, p) for p in range(s.topics.partitions))
    finally:
        c.close()


def _kill_when(proc: Any, done: Any, timeout: float = 60, *, kill: bool = True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done():
        time.sleep(0.05)
    if kill:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)


def test_sigkill_mid_run_ends_like_an_uninterrupted_run(
    live_settings: Settings, worker, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from streams.admin import create_topics

    with postgres_database(live_settings) as url_a, postgres_database(live_settings) as url_b:
        # The online models on: they are partition state (streams/model_state.py), restored
        # with the offsets they absorbed, so rules, models, warnings, tasks, states and the
        # audit trail must all come out the same. Silences on event time only (bench/chaos.py).
        run_a = live_settings.with_overrides(sql_url=url_a, models_enabled=True, idle_clock_after=0)
        # B checkpoints every 20 s: the first half of the stream is checkpointed, the second is
        # being handled when the kill comes, and must be redone from the restored state
        run_b = live_settings.with_overrides(
            sql_url=url_b,
            app_id=live_settings.app_id + "-b",
            data_dir=tmp_path / "worker-b",
            models_enabled=True,
            topics=TopicSettings.for_run(uuid.uuid4().hex[:8]),
            web_port=live_settings.web_port + 1,
            commit_interval=20.0,
            commit_every=100_000,
            idle_clock_after=0,
        )
        create_topics(run_b)
        items = stream()
        # run A, uninterrupted: the stream, then the departments' answers
        worker(run_a)
        produce(run_a, items)
        wait_caught_up(run_a)
        tasks_a, _ = wait_sql_stable(url_a)
        steps = _dispositions({t: (d, st) for t, d, st in tasks_a})
        _send_dispositions(run_a, url_a, steps)
        wait_caught_up(run_a)
        tasks_a, audit_a = wait_sql_stable(url_a)
        # run B, the same input; SIGKILLed half-way through the stream and again while the
        # dispositions are handled, restarted each time
        first = worker(run_b)
        produce(run_b, items[: len(items) // 2])
        _kill_when(first, lambda: _written(run_b) > 0, kill=False)  # its first checkpoint
        alerts = _alerts_written(run_b)
        produce(run_b, items[len(items) // 2 :])
        _kill_when(first, lambda: _alerts_written(run_b) > alerts)  # handling, 20 s to the next
        second = worker(run_b)
        _wait_ready(run_b)
        wait_caught_up(run_b)
        wait_sql_stable(url_b)
        redone = _metric(run_b, "riskloop_events_in_total")
        assert redone > 0, "the kill came after the last checkpoint: nothing was cut"
        base = _written(run_b)
        _send_dispositions(run_b, url_b, steps)
        _kill_when(second, lambda: _written(run_b) > base, timeout=30)
        worker(run_b)
        _wait_ready(run_b)
        wait_caught_up(run_b)
        tasks_b, audit_b = wait_sql_stable(url_b)
        print(
            "dispositions redone after the second kill:",
            _metric(run_b, "riskloop_events_in_total", 'source="dispositions"'),
        )
        engine_a = make_engine(url_a)
        with engine_a.connect() as conn:
            codes = dict(conn.exec_driver_sql("SELECT task_id, item_code FROM tasks").fetchall())
        engine_a.dispose()
        diff = sorted((t[0], codes.get(t[0], "?"), t[2]) for t in tasks_a ^ tasks_b)
        assert tasks_a == tasks_b, diff
        assert audit_a == audit_b, sorted(audit_a ^ audit_b)[:10]
        assert len(tasks_a) > 5
        states = {state for _, _, state in tasks_a}
        assert {"closed", "disposed", "returned"} & states, states
