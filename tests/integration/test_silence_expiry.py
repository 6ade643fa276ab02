"""`riskloop silence expire` on the real broker: the control record names who ended the
silence and when (it used to be a bare tombstone), and `riskloop silence list` shows it."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import TYPE_CHECKING

from loop.silences import Silence
from streams.publish import read_all
from tests.integration.conftest import ROOT, settings_env

if TYPE_CHECKING:
    from config.settings import Settings


def riskloop(s: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams", *args],
        check=False,
        cwd=ROOT,
        env={**settings_env(s), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        encoding="utf-8",
    )


def test_expiry_records_the_actor_on_the_control_topic_and_in_the_list(
    live_settings: Settings,
) -> None:
    s = live_settings
    added = riskloop(s, "silence", "add", "--entity", "E1", "--reason", "drill", "--by", "zhang")
    assert added.returncode == 0, added.stderr
    found = re.search(r"silence (sil-[0-9a-f]+)", added.stdout)
    assert found is not None, added.stdout
    sid = found[1]
    done = riskloop(s, "silence", "expire", sid, "--by", "li")
    assert done.returncode == 0, done.stderr
    (record,) = [v for k, v in read_all(s, s.topics.silences) if k == sid and v][-1:]
    ended = Silence.model_validate_json(record)
    assert ended.expired_by == "li"
    assert ended.expired_at is not None
    assert ended.creator == "zhang"
    listed = riskloop(s, "silence", "list")
    assert listed.returncode == 0
    assert sid in listed.stdout
    assert "by li" in listed.stdout
    again = riskloop(s, "silence", "expire", sid, "--by", "zhao")
    assert again.returncode == 1
    assert "already ended by li" in again.stderr
    assert "Traceback" not in again.stderr
    unknown = riskloop(s, "silence", "expire", "sil-nope", "--by", "li")
    assert unknown.returncode == 1
    assert "no silence sil-nope" in unknown.stderr
