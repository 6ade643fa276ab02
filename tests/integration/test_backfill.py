"""Issue #17, backfill: `riskloop replay --backfill` of the shipped Chicago inspections file
(its first 400 rows by inspection date: the whole file, 24,518 rows, takes minutes on the CI
machine) into a real worker raises warnings marked historical and opens no task — no task
command, no task in the SQL store. Without a worker configured to take 2011 records, the same
replay is refused up front instead of being dead-lettered record by record."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import TYPE_CHECKING

from config.settings import PROJECT_ROOT, Settings
from schemas.records import Level
from sinks.sql import SqlStore
from streams.demo import group_lag
from tests.integration.conftest import ROOT, collect, settings_env, tail_consumer, wait_ready

if TYPE_CHECKING:
    from collections.abc import Callable

CHICAGO = (
    PROJECT_ROOT.parent
    / "shared"
    / "data"
    / "inspections"
    / "chicago-food-inspections-2011-2014.csv.gz"
)
ROWS = 400


def _replay(s: Settings, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "streams",
            "replay",
            str(CHICAGO),
            "--source",
            "inspections",
            "--limit",
            str(ROWS),
            "--as-fast-as-possible",
            *extra,
        ],
        check=False,
        cwd=ROOT,
        env=settings_env(s),
        capture_output=True,
        text=True,
        timeout=300,
        encoding="utf-8",
    )


def test_backfill_of_chicago_warms_and_opens_no_task(
    live_settings: Settings, worker: Callable[..., subprocess.Popen[bytes]]
) -> None:
    refused = _replay(live_settings, "--backfill")  # the default 3650 days: all stale
    assert refused.returncode == 1, refused.stdout
    assert "--backfill refused" in refused.stderr
    assert "stale_event" in refused.stderr
    assert "RISKLOOP_MAX_EVENT_AGE_DAYS=" in refused.stderr
    assert "Traceback" not in refused.stderr

    s = live_settings.with_overrides(max_event_age_days=20_000)
    proc = worker(s)
    wait_ready(proc, f"http://127.0.0.1:{s.web_port}", timeout=90)
    out = tail_consumer(s.bootstrap_servers, [s.topics.alerts, s.topics.task_commands])
    done = _replay(s, "--backfill")
    assert done.returncode == 0, done.stderr
    assert f"sent {ROWS} of {ROWS} rows" in done.stdout
    assert "backfill:" in done.stdout

    deadline = time.monotonic() + 180
    while (
        group_lag(s, [s.topics.inspections, s.topics.profile_events])
        and time.monotonic() < deadline
    ):
        assert proc.poll() is None, "the worker died"
        time.sleep(1)
    assert group_lag(s, [s.topics.inspections]) == 0, "the worker did not catch up"
    got = collect(out, lambda _: False, timeout=10)  # what came after the catch-up, too
    alerts = [a for t, a in got if t == s.topics.alerts]
    commands = [c for t, c in got if t == s.topics.task_commands]
    assert alerts, "the slice raised no warning: the test would prove nothing"
    assert any(Level(a["level"]).rank >= Level.yellow.rank for a in alerts)  # live: tasked
    assert all(a["historical"] for a in alerts)
    assert commands == []
    store = SqlStore.from_settings(s)
    try:
        assert list(store.iter_tasks(open_only=False)) == []
        assert store.list_alerts(limit=10), "the warnings were not recorded"
    finally:
        store.close()
