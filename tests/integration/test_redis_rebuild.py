"""``riskloop ops rebuild-views``: Redis lost its data, the views come back from SQL."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import redis

from config.settings import Settings
from schemas.records import Level, TaskState
from sinks.migrate import migrate
from sinks.sql import SqlStore, make_engine
from tests.integration.conftest import ROOT, settings_env
from tests.unit.sinks.factories import make_alert, make_task

if TYPE_CHECKING:
    from pathlib import Path

DB = 11  # a Redis database of its own: the rebuild clears the views' keys


def test_rebuild_views_restores_what_redis_lost(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    s = Settings(
        _env_file=None,  # type: ignore[call-arg]
        sql_url=url,
        data_dir=tmp_path / "worker",
    )
    s = s.with_overrides(redis_url=s.redis_url.rsplit("/", 1)[0] + f"/{DB}")
    migrate(url)
    store = SqlStore(make_engine(url))
    store.write(
        [make_task(1), make_task(2, state=TaskState.closed), make_alert(1, level=Level.red)]
    )
    store.close()
    secret = s.redis_secret  # the dev stack's generated password (rebuild-views finds it too)
    client = redis.Redis.from_url(
        s.redis_url, password=secret.get_secret_value() if secret else None, decode_responses=True
    )
    client.flushdb()  # Redis lost everything
    client.hset("riskloop:open:xihu_market", "task-stale", "{}")  # and holds a stale view
    try:
        done = subprocess.run(
            [sys.executable, "-m", "streams", "ops", "rebuild-views"],
            check=False,
            cwd=ROOT,
            env=settings_env(s),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert (
            ": 1 open tasks and warnings" in done.stdout
        )  # the alert is older than the views keep
        assert set(client.hkeys("riskloop:open:xihu_market")) == {"task-1"}
    finally:
        client.flushdb()
        client.close()
