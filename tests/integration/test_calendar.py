"""Working days past 2026, through a real worker (issue: working days, points 1 and 2).

``chinese_calendar`` 1.11 has no 2027: from 2026-12-23 every blue task (7 working days) raised
``CalendarUnavailable`` inside the task agent and the partition stopped. With the worker's clock
started at 2026-12-23 and at 2027-02-10 (a Spring Festival week), the same replay must open every
task a replay with today's clock opens, with plausible provisional deadlines, supervision must
keep running, and a 2027 notice published while tasks are open must recount them with an audit
row. The CLI's ``calendar status`` and ``calendar deadline`` answer from the same calendar.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from contextlib import contextmanager, suppress
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from config.settings import Settings, TopicSettings
from infra.ports import free_port
from infra.process import stop_child
from loop.calendar import Basis, parse_year, shipped_calendar
from loop.deadlines import CST
from schemas.sample_stream import generate
from streams.admin import admin_client, create_topics
from tests.integration.conftest import run_cli
from tests.integration.test_closed_loop import produce, read_topic, wait_caught_up

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.timeout(600)

NOTICE_2027 = """\
# A drill notice (演练): not the State Council's 2027 arrangement, which is not out yet.
year: 2027
source: 演练用2027年放假安排
holidays:
  - {name: 元旦, from: 2027-01-01, to: 2027-01-04}
  - {name: 春节, from: 2027-02-05, to: 2027-02-12}
workdays:
  - 2027-01-09
  - 2027-02-13
"""


def stream(start: datetime) -> list[tuple[str, str, bytes]]:
    """The same mixed stream (entities, order, content) stamped from ``start``."""
    return [
        (e.source, e.key, json.dumps(e.event, ensure_ascii=False).encode())
        for e in generate(160, seed=21, start=start, step_seconds=20)
    ]


@contextmanager
def own_topics(base: Settings, tmp: Path, **changes: Any) -> Iterator[Settings]:
    """A worker's settings on a fresh set of private topics, group and data folder."""
    run = uuid.uuid4().hex[:8]
    s = base.with_overrides(
        app_id=f"riskloop-cal-{run}",
        topics=TopicSettings.for_run(run),
        data_dir=tmp / run,
        sql_url=f"sqlite:///{tmp / f'{run}.db'}",
        web_port=free_port(),
        **changes,
    )
    create_topics(s)
    try:
        yield s
    finally:
        admin = admin_client(s)
        mine = [t for t in admin.list_topics(timeout=10).topics if run in t]
        if mine:
            for future in admin.delete_topics(mine, operation_timeout=30).values():
                with suppress(Exception):
                    future.result()


def tasks_of(s: Settings) -> dict[str, dict[str, Any]]:
    """Task id → the newest version of the task published on a department's topic."""
    prefix = s.topics.task_prefix
    out: dict[str, dict[str, Any]] = {}
    for topic, v in read_topic(s, [f"^{prefix.replace('.', '[.]')}.*"]):
        if topic != s.topics.task_events and "alert_id" in v:
            out[v["task_id"]] = v
    return out


def metrics(s: Settings) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{s.web_port}/metrics", timeout=10) as r:
        return str(r.read().decode())


def replay(s: Settings, worker: Any, start: datetime) -> tuple[Any, dict[str, dict[str, Any]], str]:
    """Run a worker, replay the stream stamped from ``start``: the worker, tasks, metrics."""
    proc = worker(s)
    produce(s, stream(start))
    wait_caught_up(s, timeout=240)
    time.sleep(4)  # several wall ticks: supervision and clock ticks run on every partition
    assert proc.poll() is None, "the worker exited"
    return proc, tasks_of(s), metrics(s)


cli = run_cli


def plausible(task: dict[str, Any], start: datetime, speed: float, wall: float) -> None:
    """Deadlines after creation, on working days of the calendar, within a month."""
    created = datetime.fromisoformat(task["created_at"])
    assert start - timedelta(minutes=1) <= created <= start + timedelta(seconds=wall * speed + 60)
    sign = datetime.fromisoformat(task["sign_deadline"])
    dispose = datetime.fromisoformat(task["dispose_deadline"])
    assert created < sign <= dispose <= created + timedelta(days=31), task
    if task["deadline_basis"] != "clock":
        day = dispose.astimezone(CST).date()
        assert shipped_calendar().is_workday(day), (day, task["deadline_basis"])


def test_drills_at_the_year_end_and_in_spring_festival_open_every_task(
    live_settings: Settings, worker: Any, tmp_path: Path
) -> None:
    speed = 60.0  # a minute a second: red tasks' 30 minutes pass during the run
    base = live_settings.with_overrides(
        task_min_level="blue",
        clock_speed=speed,
        timer_interval=0.5,
        models_enabled=False,  # model warnings follow partition interleaving (README: Status)
    )
    # Every drill at 10:00 China time: trucks' curfew fences (banned_hours) follow the time of
    # day, so a "today" run at 21:00 raised curfew warnings a 10:00 run does not.
    today = datetime.now(CST).replace(hour=10, minute=0, second=0, microsecond=0)
    drills = {
        "today": today,
        "2026-12-23": datetime(2026, 12, 23, 10, 0, tzinfo=CST),
        "2027-02-10": datetime(2027, 2, 10, 10, 0, tzinfo=CST),
    }
    opened: dict[str, set[str]] = {}  # drill → "fingerprint level" of every task
    for name, clock_start in drills.items():
        start = clock_start
        began = time.monotonic()
        with own_topics(base, tmp_path, clock_start=clock_start) as s:
            proc, tasks, text = replay(s, worker, start - timedelta(hours=1))
            wall = time.monotonic() - began
            assert tasks, name
            for task in tasks.values():
                plausible(task, start, speed, wall)
            for t in tasks.values():  # 2026 days are official, 2027 ones provisional
                if t["deadline_basis"] != "clock":
                    last = datetime.fromisoformat(t["dispose_deadline"]).astimezone(CST)
                    expected = "provisional" if last.year >= 2027 else "official"
                    assert t["deadline_basis"] == expected, (name, t)
            if name == "2027-02-10":
                assert "provisional" in {t["deadline_basis"] for t in tasks.values()}
            assert "riskloop_task_errors_total{" not in text, name
            supervision: list[Any] = []
            waited = time.monotonic() + 90  # at 60×, red tasks' 30 minutes pass in 30 s
            while not supervision and time.monotonic() < waited:
                supervision = read_topic(s, [s.topics.supervision])
            assert supervision, f"{name}: no 催办/督办 raised: supervision stopped"
            left = [ln for ln in text.splitlines() if ln.startswith("riskloop_calendar_official")]
            assert left, text[:300]
            if name == "2027-02-10":
                assert float(left[0].split()[-1]) == 0.0
            # Absence rules (a terminal silent for 30 minutes) fire on the worker's clock, up to
            # ~25 clock minutes after the stream's last reading: compare the tasks once the clock
            # is well past that (60 s at 60× is an hour), not as soon as the input is read.
            time.sleep(max(0.0, 60 - (time.monotonic() - began)))
            settled = tasks_of(s)
            assert set(tasks) <= set(settled), name
            for task in settled.values():
                plausible(task, start, speed, time.monotonic() - began)
            # one incident, one case: the same tasks, each at the same level (a case raised by a
            # more urgent warning that joined it, loop.cases), whatever the topics' interleaving
            opened[name] = {f"{t['fingerprint']} {t['level']}" for t in settled.values()}
            stop_child(proc)  # before its topics go
    assert opened["2026-12-23"] == opened["today"]
    assert opened["2027-02-10"] == opened["today"]


def test_a_published_notice_recounts_open_provisional_tasks(
    live_settings: Settings, worker: Any, tmp_path: Path
) -> None:
    clock_start = datetime(2026, 12, 29, 10, 0, tzinfo=CST)
    with own_topics(
        live_settings, tmp_path, clock_start=clock_start, task_min_level="blue", timer_interval=0.5
    ) as s:
        _, before, _ = replay(s, worker, clock_start - timedelta(hours=1))
        provisional = {k: t for k, t in before.items() if t["deadline_basis"] == "provisional"}
        assert provisional, {t["deadline_basis"] for t in before.values()}

        notice = tmp_path / "2027.yaml"
        notice.write_text(NOTICE_2027, encoding="utf-8")
        published = cli(s, "calendar", "publish", str(notice))
        assert published.returncode == 0, published.stderr
        assert "2027" in published.stdout

        deadline = time.monotonic() + 90
        notes: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            notes = [
                v
                for _, v in read_topic(s, [s.topics.task_events])
                if "recounted" in (v.get("reason") or "")
            ]
            if {n["task_id"] for n in notes} >= set(provisional):
                break
        assert {n["task_id"] for n in notes} >= set(provisional)
        assert all(n["from_state"] == n["to_state"] for n in notes)
        after = tasks_of(s)
        cal = shipped_calendar().with_year(parse_year(NOTICE_2027))
        moved = 0
        for task_id, task in provisional.items():
            again = after[task_id]
            assert again["deadline_basis"] == "official", again
            old = datetime.fromisoformat(task["dispose_deadline"])
            new = datetime.fromisoformat(again["dispose_deadline"])
            assert cal.is_workday(new.astimezone(CST).date()), again
            assert new >= old, (old, new)  # 4 January is off in the notice: nothing earlier
            moved += new > old
        assert moved, "no deadline moved, though 4 January is a holiday in the notice"

        status = cli(s, "calendar", "status")
        assert status.returncode == 0, status.stderr
        row = next(ln for ln in status.stdout.splitlines() if "2027" in ln)
        assert "official" in row
        assert "演练" in row
        asked = cli(s, "calendar", "deadline", "2026-12-23T10:00:00+08:00", "7wd")
        assert asked.returncode == 0, asked.stderr
        # 24, 25, 28–31 Dec, then 1–4 Jan off in the notice: Tuesday 5 January 2027
        assert "2027-01-05T23:59:59+08:00" in asked.stdout
        assert "official" in asked.stdout
        assert date(2027, 1, 4).isoformat() in asked.stdout  # the skipped days are listed
        assert Basis.official.value in asked.stdout
