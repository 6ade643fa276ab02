from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from schemas.ingest import IngestLimits

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)


@pytest.fixture
def limits() -> IngestLimits:
    return IngestLimits()


def good(source: str) -> dict[str, Any]:
    """A valid payload per source (fresh dict each call, for tests to spoil)."""
    base = {"event_id": "ev-1", "event_time": "2024-05-01T19:30:00"}  # Asia/Shanghai → 11:30Z
    return {
        "inspections": {
            **base,
            "uscc": "91350100M000100Y43",
            "entity_name": "  杭州某某餐饮有限公司\u3000",
            "region_code": "330106",
            "outcome": "fail",
            "violations": [{"code": "V1", "severity": "critical", "description": " 冷藏温度超标 "}],
            "critical_count": 1,
            "lat": 30.27,
            "lon": 120.15,
            "crs": "GCJ02",
        },
        "complaints": {
            **base,
            "channel": "12345",
            "text": "　餐馆后厨脏乱，联系我13812345678　",
            "category": "食品安全",
            "complainant_phone": "13812345678",
            "complainant_id": "110101199003071234",
            "uscc": "",
        },
        "equipment": {
            **base,
            "equipment_code": "31103301002020000001",
            "equipment_type": "boiler",
            "uscc": "91350100M000100Y43",
            "metrics": {"pressure": 800.0, "temperature": 212.0, "current": 3.0},
            "units": {"pressure": "kPa", "temperature": "°F", "current": "A"},
            "rated": {"pressure": 1000.0},
        },
        "trucks": {
            **base,
            "plate": "浙Ａ·１２３４５",
            "lat": 30.27,
            "lon": 120.15,
            "speed_kmh": 42.0,
            "heading": 90.0,
        },
        "dispositions": {
            **base,
            "task_id": "t-1",
            "department": "市场监管局",
            "action": "dispose",
            "actor": "u1",
            "result": "confirmed",
        },
    }[source]
