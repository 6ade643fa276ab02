"""``riskloop sample`` (the "双随机" draw) against a real worker's profile table.

Without ``--profiles`` the command reads the worker's profiles changelog topic. The values
there are wrapped by the crash journal (streams/once.py); the command used to parse them as
profiles directly and fail with a traceback on every run. These tests run the real CLI in a
subprocess against a real worker after a replay, and against a changelog holding a value that
is no profile (one clear line, non-zero exit).
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import TYPE_CHECKING

from infra.process import stop_child
from streams.tables import changelog_topic
from tests.integration.conftest import ROOT, produce, settings_env
from tests.integration.test_closed_loop import produce as replay
from tests.integration.test_closed_loop import stream, wait_caught_up

if TYPE_CHECKING:
    from config.settings import Settings

DRAWN = re.compile(r"(\d+) of (\d+) enterprises drawn")


def sample(s: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams", "sample", *args],
        check=False,
        cwd=ROOT,
        env=settings_env(s),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_sample_draws_from_the_workers_profiles_after_a_replay(
    live_settings: Settings, worker
) -> None:
    s = live_settings
    proc = worker(s)
    replay(s, stream())
    wait_caught_up(s)
    # A running worker keeps changing profiles after the inputs are taken (a wall tick may
    # raise a warning that opens an enterprise's file), and a draw is only the same for the
    # same pool: stopped, its checkpoint flushed, the changelog is what both draws read.
    stop_child(proc)
    assert proc.returncode == 0, "the worker did not stop cleanly on SIGTERM"
    at = "2026-12-23T10:00:00+08:00"  # scores decay with time: a draw is its seed and moment
    done = sample(s, "--n", "10", "--seed", "7", "--at", at)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    found = DRAWN.search(done.stdout)
    assert found is not None, done.stdout
    drawn, of = int(found[1]), int(found[2])
    assert of > 0
    assert drawn == min(10, of)
    assert "at 2026-12-23T10:00:00+08:00" in done.stdout  # the footer says how to replay it
    again = sample(s, "--n", "10", "--seed", "7", "--at", at)  # same seed, moment: same list
    assert again.returncode == 0
    assert again.stdout == done.stdout
    wrong = sample(s, "--n", "10", "--at", "next tuesday")
    assert wrong.returncode == 1
    assert "Traceback" not in wrong.stderr
    assert "not an ISO-8601 instant" in wrong.stderr


def test_a_changelog_value_that_is_no_profile_is_one_clear_line(live_settings: Settings) -> None:
    s = live_settings
    topic = changelog_topic(s.app_id)
    produce(s.bootstrap_servers, topic, [(b"profiles/91330106MA27XXXX0X", b'{"uscc": 5}')])
    done = sample(s, "--n", "10")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "not an entity profile" in lines[0], done.stderr
