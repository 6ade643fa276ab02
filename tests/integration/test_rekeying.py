"""Re-keying on a real broker with two workers (issue "One checkpoint", point 3).

Three complaints at one address, without a USCC, are keyed by their complaint ids, which land
on three different partitions — here owned by two workers. ``complaints.repeat_address`` keeps
its 30-day window under the address: evaluated where each complaint landed, the window was split
three ways and never reached its threshold. Re-keyed to the address's partition
(streams/rekey.py), the three meet: exactly one warning and one task.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from loop import ids
from schemas.sample_stream import generate
from schemas.validation.pii import address_key
from streams.rekey import partition_of
from tests.integration.conftest import collect, produce, tail_consumer, two_workers

if TYPE_CHECKING:
    from collections.abc import Callable

    from config.settings import Settings

RULE = "complaints.repeat_address"


def _complaints(run: str, partitions: int) -> tuple[str, list[tuple[bytes, bytes]]]:
    """Three complaints at one address, keyed on three different partitions."""
    base = next(e.event for e in generate(200, seed=5) if e.source == "complaints")
    address = f"杭州市西湖区测试路{run}号"
    at = datetime.now(UTC) - timedelta(hours=2)
    out: list[tuple[bytes, bytes]] = []
    used: set[int] = set()
    n = 0
    while len(out) < 3:
        event_id = f"cmp-{run}-{n}"
        n += 1
        p = partition_of(event_id, partitions)
        if p in used:
            continue
        used.add(p)
        event = {
            **base,
            "event_id": event_id,
            "uscc": None,
            "entity_name": None,
            "address": address,
            "text": "油烟扰民，噪音很大",
            "subject": None,
            "event_time": (at + timedelta(minutes=10 * len(out))).isoformat(),
        }
        out.append((event_id.encode(), json.dumps(event, ensure_ascii=False).encode()))
    return address, out


@pytest.mark.timeout(300)
def test_one_address_under_three_keys_on_two_workers_makes_one_warning_and_one_task(
    live_settings: Settings, worker: Callable[..., Any], tmp_path: Any
) -> None:
    s = live_settings
    assert s.topics.partitions == 4
    out = tail_consumer(s.bootstrap_servers, [s.topics.alerts, s.topics.task_events])
    two_workers(worker, s, tmp_path)
    time.sleep(5)  # the second worker's join settles (both own partitions)

    address, complaints = _complaints(uuid.uuid4().hex[:8], s.topics.partitions)
    produce(s.bootstrap_servers, s.topics.complaints, complaints)

    def warnings(msgs: list[tuple[str, dict[str, Any]]]) -> set[str]:
        return {
            v["alert_id"]
            for t, v in msgs
            if t == s.topics.alerts
            and v.get("entity") == address_key(address)  # the address goes by its pseudonym
            and any(r.get("id") == RULE for r in v.get("reasons", []))
        }

    def dispatched(msgs: list[tuple[str, dict[str, Any]]], alert_ids: set[str]) -> list[str]:
        tasks = {ids.task_id(a) for a in alert_ids}
        return [
            v["task_id"]
            for t, v in msgs
            if t == s.topics.task_events
            and v.get("task_id") in tasks
            and v.get("to_state") == "dispatched"
        ]

    got = collect(out, lambda m: bool(dispatched(m, warnings(m))), timeout=120)
    got += collect(out, lambda m: False, timeout=10)  # anything more would come now
    alerts = warnings(got)
    assert len(alerts) == 1, f"expected one warning for {address}, got {alerts}"
    assert len(dispatched(got, alerts)) == 1
