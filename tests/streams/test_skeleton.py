"""The walking skeleton's inspection agent, driven through Faust's test context."""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import AsyncMock

from streams.app import RiskLoopApp


def inspection(**overrides: Any) -> bytes:
    event = {
        "event_id": "insp-1", "event_time": "2026-11-20T08:00:00+08:00", "uscc": "91330106MA2B0X3J0D",
        "entity_name": "杭州知味餐饮管理有限公司", "region_code": "330106", "item_code": "FOOD-INSP-01",
        "outcome": "fail", "critical_count": 2,
    }  # fmt: skip
    event.update(overrides)
    return json.dumps(event, ensure_ascii=False).encode()


async def test_failed_inspection_raises_alert(app: RiskLoopApp) -> None:
    alerts = app.riskloop_topics.alerts
    alerts.send = AsyncMock()  # type: ignore[method-assign]
    agent = app.agents["inspections"]
    async with agent.test_context() as ctx:
        await ctx.put(inspection(), key=b"91330106MA2B0X3J0D")
        await ctx.put(inspection(event_id="insp-2", outcome="pass", critical_count=0))
    assert alerts.send.await_count == 1
    sent = json.loads(alerts.send.await_args.kwargs["value"])
    assert sent["level"] == "orange"
    assert sent["entity"] == "91330106MA2B0X3J0D"
    assert sent["correlation_id"] == "insp-1"
