"""A worker whose data dir fills up mid-stream (issue #15, Done-when): a real `riskloop worker`
on a real 8 MB tmpfs, filled to the last byte by a filler file while failed inspections arrive.

The sinks' copies are stored at the checkpoint (streams/checkpoint.py, step 3), so that is where
the full disk shows: the checkpoint fails before its marker and pauses intake
(``riskloop_storage_stalled{agent="checkpoint"}`` = 1 on /metrics); the worker stays alive and
commits nothing; once the filler is deleted every good event gets its task — none lost, none
twice — in the SQL task store and on the department topics, and nothing is dead-lettered.

Mounting needs root (or CAP_SYS_ADMIN); where that is refused the test is skipped and says why.
"""

from __future__ import annotations

import errno
import json
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from confluent_kafka import Consumer
from prometheus_client.parser import text_string_to_metric_families

from infra.process import stop_child
from loop import ids
from sinks.sql import make_engine, sql_url
from streams.admin import admin_client
from tests.integration.conftest import failed_inspection_record, produce

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from config.settings import Settings


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MB tmpfs, unmounted at the end (after the test stopped its worker)."""
    mnt = tmp_path / "small-disk"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): "
            f"{(done.stderr or done.stdout).strip()}"
        )
    try:
        yield mnt
    finally:
        if subprocess.run(["umount", str(mnt)], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True, check=False)


def fill(folder: Path) -> Path:
    """A file that takes every free byte of ``folder``'s filesystem."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as f:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError as exc:  # the filesystem is full; any other error is the test's
                if exc.errno != errno.ENOSPC:
                    raise
    return filler


def wait_for(
    what: Callable[[], Any],
    timeout: float,
    proc: subprocess.Popen[bytes],
    log: Path,
    every: float = 0.25,
) -> Any:
    """``what()`` once truthy; fails at once, with the log's tail, if the worker exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = what()
        if got:
            return got
        if proc.poll() is not None:
            pytest.fail(f"the worker exited with {proc.returncode}:\n{tail(log)}")
        time.sleep(every)
    pytest.fail(f"not within {timeout} s: {what.__doc__ or what}; log:\n{tail(log)}")


def tail(log: Path, lines: int = 25) -> str:
    """The log's error lines (the cause of a crash is rarely in its last lines), then its tail."""
    text = log.read_text(errors="replace") if log.exists() else ""
    errors = [
        line[:2000]
        for line in text.splitlines()
        if '"level": "error"' in line or '"level": "critical"' in line or "Traceback" in line
    ]
    return "\n".join(["errors:", *errors[-10:], "tail:", *text.splitlines()[-lines:]])


def http(s: Settings, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{s.web_port}{path}", timeout=3) as rsp:
            return rsp.status, rsp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except OSError:
        return 0, ""


def metric(s: Settings, name: str, **labels: str) -> float | None:
    """One sample of the worker's /metrics (None: not there)."""
    status, text = http(s, "/metrics")
    if status != 200:
        return None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


def failed_inspections(run: str, n: int) -> list[tuple[bytes, bytes]]:
    """``n`` failed inspections of ``n`` enterprises: each must open one task."""
    return [
        failed_inspection_record(
            f"disk-{run}-{i}",
            name=f"杭州磁盘测试餐饮{i}号有限公司",
            minutes_ago=60,
            violations=True,
        )
        for i in range(n)
    ]


def sql_tasks(s: Settings) -> list[tuple[str, str]]:
    """(task id, entity) of every task in the worker's SQL store."""
    engine = make_engine(sql_url(s))
    try:
        with engine.connect() as conn:
            return [(r[0], r[1]) for r in conn.exec_driver_sql("SELECT task_id, entity FROM tasks")]
    except Exception:  # the sink creates the tables with its first write
        return []
    finally:
        engine.dispose()


def read_topics(s: Settings, topics: list[str], idle: float = 3) -> list[tuple[str, dict]]:
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
    out: list[tuple[str, dict]] = []
    until = time.monotonic() + 10
    while time.monotonic() < until:
        msg = c.poll(0.5)
        if msg is not None and not msg.error():
            out.append((msg.topic() or "", json.loads(msg.value() or b"{}")))
            until = time.monotonic() + idle
    c.close()
    return out


def ready(s: Settings) -> bool:
    """/ready answers 200."""
    return http(s, "/ready")[0] == 200


def again(command: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The same task command for a warning that is one occurrence later: a new task."""
    alert = {**command["alert"], "alert_id": command["alert"]["alert_id"] + "-again"}
    return ids.task_id(alert["alert_id"]), {**command, "alert": alert}


@pytest.mark.timeout(180)
def test_a_full_data_dir_pauses_the_worker_and_loses_nothing(
    small_disk: Path,
    live_settings: Settings,
    worker: Callable[..., subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    """Twice: the disk fills before failed inspections arrive, then before task commands arrive
    (the task agent used to dead-letter them); each time the checkpoint cannot store the
    copies, and the worker pauses until there is room."""
    s = live_settings.with_overrides(data_dir=small_disk / "worker", models_enabled=False)
    run, n = uuid.uuid4().hex[:8], 20
    proc, log = worker(s), tmp_path / "worker-0.log"
    try:
        outbox = s.data_dir / "outbox"
        wait_for(
            lambda: (
                ready(s)
                and (outbox / "sql.sqlite3").exists()
                and (outbox / "redis.sqlite3").exists()
            ),
            90,
            proc,
            log,
        )

        def stalled(agent: str) -> Callable[[], bool]:
            def check() -> bool:
                return metric(s, "riskloop_storage_stalled", agent=agent) == 1

            check.__doc__ = f"riskloop_storage_stalled{{agent={agent!r}}} = 1 on /metrics"
            return check

        def tasks_in_sql(count: int) -> Callable[[], list[tuple[str, str]]]:
            def check() -> list[tuple[str, str]]:
                found = sql_tasks(s)
                return found if len(found) >= count else []

            check.__doc__ = f"{count} tasks in the SQL store"
            return check

        # 1. the source agent: failed inspections arrive on a full disk
        filler = fill(small_disk)
        produce(s.bootstrap_servers, s.topics.inspections, failed_inspections(run, n))
        wait_for(stalled("checkpoint"), 30, proc, log)
        time.sleep(2)  # it stays paused, and alive, while the disk is full
        assert proc.poll() is None, tail(log)
        assert stalled("checkpoint")()
        assert sql_tasks(s) == [], "nothing may get past a disk that cannot store it"
        filler.unlink()
        first = wait_for(tasks_in_sql(n), 60, proc, log)
        wait_for(
            lambda: metric(s, "riskloop_storage_stalled", agent="checkpoint") == 0, 10, proc, log
        )

        # 2. the task agent: task commands arrive on a full disk
        commands = [v for _, v in read_topics(s, [s.topics.task_commands])][:5]
        assert len(commands) == 5
        more = [again(c) for c in commands]
        filler = fill(small_disk)
        produce(
            s.bootstrap_servers,
            s.topics.task_commands,
            [(tid.encode(), json.dumps(c, ensure_ascii=False).encode()) for tid, c in more],
        )
        wait_for(stalled("checkpoint"), 30, proc, log)
        assert len(sql_tasks(s)) == n
        filler.unlink()
        tasks = wait_for(tasks_in_sql(n + len(more)), 60, proc, log)
        wait_for(
            lambda: metric(s, "riskloop_storage_stalled", agent="checkpoint") == 0, 10, proc, log
        )
        assert proc.poll() is None, tail(log)
        assert "local storage full" in log.read_text(errors="replace")
    finally:
        stop_child(proc)

    usccs = {key.decode() for key, _ in failed_inspections(run, n)}
    assert sorted(entity for _, entity in first) == sorted(usccs), "lost or doubled in SQL"
    expected = {task_id for task_id, _ in first} | {task_id for task_id, _ in more}
    assert sorted(task_id for task_id, _ in tasks) == sorted(expected)
    prefix = s.topics.task_prefix
    listed = admin_client(s).list_topics(timeout=10).topics
    task_topics = [t for t in listed if t.startswith(prefix) and t != s.topics.task_events]
    seen = read_topics(s, [*task_topics, s.topics.deadletter])
    published = [v["task_id"] for t, v in seen if t in task_topics and "alert_id" in v]
    assert sorted(published) == sorted(expected), "a task lost or sent twice on its topic"
    assert [v for t, v in seen if t == s.topics.deadletter] == []
