"""A worker whose outbox files are damaged starts anyway (issue #15: "a corrupted store rebuilds
itself"): a real `riskloop worker` finds its SQL outbox overwritten with garbage and its Redis
outbox truncated, moves both aside, says so (log, ``riskloop_store_rebuilt_total``), and handles
events with fresh ones. Before, the sinks could not open, the agents waited for them forever,
and a restart met the same file: a crash loop in all but name.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import TYPE_CHECKING

from infra.process import stop_child
from sinks.outbox import Outbox
from tests.integration.conftest import produce
from tests.integration.test_full_disk import (
    failed_inspections,
    metric,
    ready,
    sql_tasks,
    tail,
    wait_for,
)
from tests.unit.sinks.factories import make_task

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable
    from pathlib import Path

    from config.settings import Settings


def damage(outbox: Path) -> dict[str, bytes]:
    """Garbage for the SQL outbox, a cut-short file for the Redis one; their bytes."""
    outbox.mkdir(parents=True)
    (outbox / "sql.sqlite3").write_bytes(b"\x00 not a database \xff" * 2000)
    box = Outbox(outbox / "redis.sqlite3")
    box.append_many(("Task", make_task(n).model_dump_json()) for n in range(50))
    box.close()
    os.truncate(outbox / "redis.sqlite3", 6000)
    return {name: (outbox / name).read_bytes() for name in ("sql.sqlite3", "redis.sqlite3")}


def test_a_worker_moves_a_corrupt_outbox_aside_and_works(
    live_settings: Settings, worker: Callable[..., subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    s = live_settings.with_overrides(models_enabled=False)
    outbox = s.data_dir / "outbox"
    before = damage(outbox)
    run, n = uuid.uuid4().hex[:8], 5
    proc, log = worker(s), tmp_path / "worker-0.log"
    try:
        wait_for(lambda: ready(s), 90, proc, log)
        produce(s.bootstrap_servers, s.topics.inspections, failed_inspections(run, n))

        def all_tasks() -> list[tuple[str, str]]:
            """every event's task is in the SQL store"""
            found = sql_tasks(s)
            return found if len(found) >= n else []

        tasks = wait_for(all_tasks, 60, proc, log)
        rebuilt = metric(s, "riskloop_store_rebuilt_total", store="outbox")
    finally:
        stop_child(proc)

    assert sorted(e for _, e in tasks) == sorted(k.decode() for k, _ in failed_inspections(run, n))
    assert rebuilt == 2
    for name, content in before.items():
        (moved,) = outbox.glob(f"{name}.corrupt-*[0-9]Z")
        assert moved.read_bytes() == content, "moved aside as it was, not rewritten"
    lines = log.read_text(errors="replace").splitlines()
    logged = [json.loads(line[line.index("{") :]) for line in lines if '"level": "error"' in line]
    for name in before:
        assert any(str(outbox / name) in e["event"] for e in logged), f"{name}: {tail(log)}"
