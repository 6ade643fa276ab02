"""An idle worker with 5,000 open tasks uses under 5 % of a core (a real worker and broker).

Issue 17: an idle worker with 4,644 open tasks used a whole core (timers rescanned every task and
warning every 5 s). Here 5,000 failed inspections of 5,000 enterprises open 5,000 tasks; once
they are open and the worker has settled, its CPU time (user + system, from /proc) over an idle
minute is compared with that minute: the share of a core it used. The busy share while the
tasks were opened is printed beside it.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from schemas.validation.uscc import make_uscc
from tests.integration.conftest import produce, tail_consumer, wait_ready

if TYPE_CHECKING:
    from collections.abc import Callable

    from config.settings import Settings

TASKS = int(os.environ.get("RISKLOOP_IDLE_TASKS", "5000"))
IDLE_SECONDS = 60.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of the process so far (/proc/<pid>/stat, clock ticks)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.timeout(1800)  # opening 5,000 tasks takes minutes on a shared 2-core machine
def test_an_idle_worker_with_open_tasks_uses_under_5_percent_of_a_core(
    live_settings: Settings, worker: Callable[..., Any]
) -> None:
    s = live_settings
    events = tail_consumer(s.bootstrap_servers, [s.topics.task_events])
    proc = worker(s)
    wait_ready(proc, f"http://127.0.0.1:{s.web_port}")
    at = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    items = []
    for i in range(TASKS):
        uscc = make_uscc(f"idle-{i}", "330106")
        event = {
            "event_id": f"idle-{i}",
            "event_time": at,
            "uscc": uscc,
            "entity_name": f"杭州测试餐饮{i}号店",
            "region_code": "330106",
            "item_code": "FOOD-INSP-01",
            "outcome": "fail",
            "critical_count": 1,
        }
        items.append((uscc.encode(), json.dumps(event, ensure_ascii=False).encode()))
    busy_cpu, busy_wall = _cpu_seconds(proc.pid), time.monotonic()
    produce(s.bootstrap_servers, s.topics.inspections, items)
    opened: set[str] = set()
    deadline = time.monotonic() + 900
    while len(opened) < TASKS and time.monotonic() < deadline:
        msg = events.poll(0.5)
        if msg is not None and not msg.error():
            ev = json.loads(msg.value())
            if ev.get("to_state") == "dispatched":
                opened.add(ev["task_id"])
    events.close()
    assert len(opened) >= TASKS, f"only {len(opened)} tasks opened"
    busy = (_cpu_seconds(proc.pid) - busy_cpu) / (time.monotonic() - busy_wall)
    time.sleep(20)  # the last checkpoint and sink flushes
    start_cpu, start = _cpu_seconds(proc.pid), time.monotonic()
    time.sleep(IDLE_SECONDS)
    idle = (_cpu_seconds(proc.pid) - start_cpu) / (time.monotonic() - start)
    print(
        f"\n{TASKS} open tasks: busy {busy:.1%} of a core while opening them; idle {idle:.2%} "
        f"of a core over {IDLE_SECONDS:g} s ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"load {os.getloadavg()[0]:.1f})"
    )
    assert proc.poll() is None
    assert idle < 0.05
