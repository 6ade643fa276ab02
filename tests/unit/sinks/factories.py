"""Factories for the sinks' tests (unit and integration): tasks, events, alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.records import (
    Alert,
    AlertState,
    Level,
    SupervisionEvent,
    SupervisionKind,
    Task,
    TaskEvent,
    TaskState,
)

T0 = datetime(2024, 6, 3, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


def make_task(n: int = 0, **over: Any) -> Task:
    data: dict[str, Any] = {
        "task_id": f"task-{n}",
        "alert_id": f"fp-{n}.1",
        "fingerprint": f"fp-{n}",
        "department": "xihu_market",
        "state": TaskState.dispatched,
        "level": Level.yellow,
        "title": f"不合格检查 {n}",
        "entity": "91330106MA27XXXX0X",
        "item_code": "FOOD-001",
        "uscc": "91330106MA27XXXX0X",
        "region_code": "330106",
        "checklist": ["check licence"],
        "created_at": T0,
        "sign_deadline": T0 + timedelta(hours=4),
        "dispose_deadline": T0 + timedelta(days=1),
        "correlation_id": f"corr-{n}",
    }
    data.update(over)
    return Task(**data)


def make_event(task_id: str, n: int, **over: Any) -> TaskEvent:
    data: dict[str, Any] = {
        "event_id": f"{task_id}-ev-{n}",
        "task_id": task_id,
        "at": T0 + timedelta(minutes=n),
        "actor": "riskloop",
        "from_state": None,
        "to_state": TaskState.created,
        "department": "xihu_market",
        "correlation_id": "corr",
    }
    data.update(over)
    return TaskEvent(**data)


def make_alert(n: int = 0, **over: Any) -> Alert:
    data: dict[str, Any] = {
        "alert_id": f"fp-{n}.1",
        "fingerprint": f"fp-{n}",
        "state": AlertState.new,
        "level": Level.yellow,
        "source": "inspections",
        "entity": "91330106MA27XXXX0X",
        "item_code": "FOOD-001",
        "title": f"预警 {n}",
        "region_code": "330106",
        "first_seen": T0,
        "last_seen": T0 + timedelta(minutes=n),
    }
    data.update(over)
    return Alert(**data)


def make_supervision(task_id: str, n: int, **over: Any) -> SupervisionEvent:
    data: dict[str, Any] = {
        "event_id": f"{task_id}-sup-{n}",
        "task_id": task_id,
        "kind": SupervisionKind.reminder,
        "at": T0 + timedelta(hours=n),
        "department": "xihu_market",
        "deadline": T0 + timedelta(hours=4),
        "level": Level.yellow,
    }
    data.update(over)
    return SupervisionEvent(**data)
