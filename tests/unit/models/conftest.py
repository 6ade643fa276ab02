"""Factories of events per source, seeded, small: the model tests build streams from these."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

T0 = datetime(2024, 3, 1, tzinfo=UTC)
USCC = "91440300MA5FUTJ97K"


def equipment_event(
    i: int, rng: random.Random, *, code: str = "LIFT-1", shift: float = 0.0
) -> dict[str, Any]:
    current = 10 + rng.gauss(0, 0.2) + shift
    return {
        "event_id": f"{code}-{i}",
        "event_time": T0 + timedelta(seconds=i),
        "equipment_code": code,
        "equipment_type": "elevator",
        "uscc": USCC,
        "metrics": {
            "current": current,
            "speed": 1.0 + 0.05 * (current - 10) + rng.gauss(0, 0.01),
            "vibration": 0.1 + rng.gauss(0, 0.01),
        },
    }


_TEXTS = {
    "环境保护": ["小区垃圾堆放没人清理臭气熏天", "工厂夜间排放废气污染严重", "河道污水直排"],
    "劳动和社会保障": ["公司拖欠工资三个月不发", "单位不给缴纳社保", "工地老板拖欠农民工工资"],
    "交通运输": ["公交车长期晚点", "出租车拒载绕路", "道路坑洼影响通行"],
}


def complaint_event(i: int, rng: random.Random, *, labelled: bool = True) -> dict[str, Any]:
    category = sorted(_TEXTS)[i % 3]
    text = rng.choice(_TEXTS[category]) + rng.choice(["，请尽快处理", "，希望有关部门管一管", ""])
    event: dict[str, Any] = {
        "event_id": f"c{i}",
        "event_time": T0 + timedelta(minutes=i),
        "channel": "12345",
        "text": text,
    }
    if labelled:
        event["category"] = category
        event["urgency"] = "urgent" if "工资" in text else "normal"
    return event


def inspection_event(i: int, rng: random.Random) -> dict[str, Any]:
    entity = rng.randrange(30)
    bad = entity < 10
    critical = int(rng.random() < (0.6 if bad else 0.05))
    return {
        "event_id": f"i{i}",
        "event_time": T0 + timedelta(days=i),
        "uscc": f"E{entity:03d}",
        "entity_name": f"企业{entity}",
        "region_code": "440300",
        "outcome": "fail" if critical else "pass",
        "critical_count": critical,
        "risk_tier": 1 if bad else 3,
        "facility_type": "Restaurant",
    }


def truck_event(i: int, rng: random.Random, *, plate: str = "粤B12345") -> dict[str, Any]:
    speed = max(0.0, 35 + rng.gauss(0, 3))
    return {
        "event_id": f"{plate}-{i}",
        "event_time": T0 + timedelta(seconds=30 * i),
        "plate": plate,
        "lat": 22.5 + i * speed / 3.6 * 30 / 111_000,
        "lon": 114.0,
        "speed_kmh": speed,
    }


MAKERS = {
    "equipment": equipment_event,
    "complaints": complaint_event,
    "inspections": inspection_event,
    "trucks": truck_event,
}


def stream(source: str, n: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [MAKERS[source](i, rng) for i in range(n)]


@pytest.fixture
def make_stream():
    return stream
