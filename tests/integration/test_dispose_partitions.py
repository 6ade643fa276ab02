"""`riskloop tasks dispose` reaches its task on every partition (real broker, real worker).

The task table is partitioned by task id with Kafka's murmur2, as Faust does; the CLI once
produced with librdkafka's default partitioner, so most dispositions reached a worker partition
that did not hold the task and were dead-lettered as ``unknown_task`` while the CLI said
"sent". Here failed inspections open tasks on all four partitions, each is signed through the
CLI, and each must move to ``signed`` on ``tasks.events`` with nothing dead-lettered.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections import defaultdict

from streams.deadletters import original_value
from streams.rekey import partition_of
from tests.integration.conftest import (
    ROOT,
    collect,
    failed_inspection_record,
    produce,
    settings_env,
    tail_consumer,
)

DEPARTMENT = "hz_market_food"  # config/routing.yaml: inspections YJ-ZFJC-* in Hangzhou
ENTERPRISES = 24
PER_PARTITION = 2


def failed_inspection(run: str, i: int) -> tuple[bytes, bytes]:
    return failed_inspection_record(f"disp-{run}-{i}", name=f"杭州测试餐饮{i}号店")


def test_cli_disposition_reaches_tasks_on_every_partition(live_settings, worker) -> None:  # type: ignore[no-untyped-def]
    s = live_settings
    run = uuid.uuid4().hex[:8]
    partitions = s.topics.partitions
    events = tail_consumer(s.bootstrap_servers, [s.topics.task_events, s.topics.deadletter])
    worker()
    produce(
        s.bootstrap_servers,
        s.topics.inspections,
        [failed_inspection(run, i) for i in range(ENTERPRISES)],
    )

    def dispatched(msgs: list[tuple[str, dict]]) -> set[str]:
        return {
            v["task_id"]
            for t, v in msgs
            if t == s.topics.task_events
            and v.get("to_state") == "dispatched"
            and v.get("department") == DEPARTMENT
        }

    opened = collect(events, lambda m: len(dispatched(m)) >= ENTERPRISES, timeout=180)
    by_partition: dict[int, list[str]] = defaultdict(list)
    for task_id in sorted(dispatched(opened)):
        by_partition[partition_of(task_id, partitions)].append(task_id)
    assert sorted(by_partition) == list(range(partitions)), (
        f"tasks on partitions {sorted(by_partition)} only: {len(dispatched(opened))} tasks"
    )
    chosen = [t for p in range(partitions) for t in by_partition[p][:PER_PARTITION]]

    for task_id in chosen:
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "streams",
                "tasks",
                "dispose",
                task_id,
                "--department",
                DEPARTMENT,
                "--action",
                "sign",
                "--by",
                "张科长",
            ],
            check=False,
            cwd=ROOT,
            env=settings_env(s),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert cli.returncode == 0, cli.stderr
        assert cli.stdout.startswith(f"applied sign for {task_id}"), cli.stdout

    def signed(msgs: list[tuple[str, dict]]) -> set[str]:
        return {
            v["task_id"]
            for t, v in msgs
            if t == s.topics.task_events and v.get("to_state") == "signed"
        }

    seen = collect(events, lambda m: signed(m) >= set(chosen), timeout=120)
    events.close()
    dead = [
        (v["reason"], json.loads(original_value(s, json.dumps(v).encode())).get("task_id"))
        for t, v in opened + seen
        if t == s.topics.deadletter and v.get("source") == "dispositions"
    ]
    assert dead == []
    missing = {
        p: [t for t in chosen if partition_of(t, partitions) == p and t not in signed(seen)]
        for p in range(partitions)
    }
    assert signed(seen) >= set(chosen), f"not signed, by partition: {missing}"
    assert all(
        v["department"] == DEPARTMENT and v["actor"] == "张科长"
        for t, v in seen
        if t == s.topics.task_events and v["task_id"] in chosen and v["to_state"] == "signed"
    )
