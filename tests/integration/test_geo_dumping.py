"""Muck-truck geo intelligence on the real broker (issue: geo, Done-when).

A real Liverpool route-14 trip, replayed as a loaded truck with a 15-minute stop half-way (away
from the disposal site and any construction site), goes through a real worker: the geo stage
raises exactly one suspected-dumping detection, the trucks pack turns it into one orange warning,
and that warning becomes one verification task on the urban-management department's topic.
The trip itself stays on its approved route (no route-deviation warning), but it does cross the
derived fence set's school zone in its banned hours (weekdays 16:00–17:00): that is the one other
expected warning and task.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bench.trajectories import fixes_from_rows, read_gps_csv
from streams.producer import make_producer
from tests.integration.conftest import tail_consumer

if TYPE_CHECKING:
    from config.settings import Settings
    from schemas.records import TruckFix

LIVERPOOL = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "gps" / "liverpool-bus-route14.csv"
)


def loaded_trip_with_stop(plate: str, minutes: float = 15) -> list[TruckFix]:
    rows = [r for r in read_gps_csv(LIVERPOOL) if r["trip_id"] == "1097"]
    fixes = [
        f.model_copy(update={"plate": plate})
        for f in fixes_from_rows(rows, permit_id="AMSY-14", loaded=True)
    ]
    at = len(fixes) // 2
    base = fixes[at]
    held = [
        base.model_copy(
            update={
                "event_id": f"{base.event_id}-h{k}",
                "speed_kmh": 0.0,
                "event_time": base.event_time + timedelta(seconds=30 * k),
            }
        )
        for k in range(1, int(minutes * 2))
    ]
    later = [
        f.model_copy(update={"event_time": f.event_time + timedelta(minutes=minutes)})
        for f in fixes[at + 1 :]
    ]
    return [*fixes[: at + 1], *held, *later]


def test_replayed_trajectory_dumping_becomes_urban_management_task(
    live_settings: Settings, worker
) -> None:  # type: ignore[no-untyped-def]
    assert LIVERPOOL.exists(), f"shared data missing: {LIVERPOOL}"
    s = live_settings
    plate = "浙A04842"
    fixes = loaded_trip_with_stop(plate)
    task_topic = f"{s.topics.task_prefix}urban_management"
    consumer = tail_consumer(s.bootstrap_servers, [s.topics.alerts, task_topic])
    worker()
    producer = make_producer(s)
    for fix in fixes:
        producer.produce(s.topics.trucks, key=plate.encode(), value=fix.model_dump_json().encode())
    assert producer.flush(30) == 0

    alerts: list[dict] = []
    tasks: list[dict] = []
    deadline = time.monotonic() + 120
    settle = deadline  # once the task is in, listen 5 s more for anything extra
    while time.monotonic() < min(deadline, settle):
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            body = json.loads(msg.value())
            (tasks if msg.topic() == task_topic else alerts).append(body)
            if tasks and settle == deadline:
                settle = time.monotonic() + 5
    dumping = [
        a for a in alerts if any(r["id"] == "trucks.suspected_dumping" for r in a["reasons"])
    ]
    assert [a["state"] for a in dumping] == ["new"], alerts
    assert dumping[0]["entity"] == plate
    assert dumping[0]["level"] == "orange"
    fired = {
        r["id"] for a in alerts for r in a["reasons"] if a["state"] == "new" and r["kind"] == "rule"
    }
    assert fired == {"trucks.suspected_dumping", "trucks.night_curfew"}, fired
    fences = [r for r in dumping[0]["reasons"] if r["kind"] == "fence"]  # its fence set, too
    assert len(fences) == 1, dumping[0]
    assert fences[0]["version"], dumping[0]
    assert fences[0]["content_hash"], dumping[0]
    assert sorted(t["title"] for t in tasks) == ["渣土车疑似偷倒乱倒", "渣土车禁行时段行驶"]
    task = next(t for t in tasks if t["alert_id"] == dumping[0]["alert_id"])
    assert task["department"] == "urban_management"
    assert task["title"] == "渣土车疑似偷倒乱倒"
    assert "现场照片" in task["required_evidence"]
