"""Factories for the loop's inputs: a hit, a model score, a disposition, a config."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from loop.loop_config import LoopConfig
from loop.routing import parse_table
from schemas.hits import RuleHit, TaskTemplate
from schemas.records import Disposition, DispositionAction, Level
from schemas.scores import ModelScore

if TYPE_CHECKING:
    from collections.abc import Callable

T0 = datetime(2024, 6, 3, 1, 0, tzinfo=UTC)  # Monday 09:00 CST, a working day
USCC = "91330106MA27XXXX0X"

ROUTING = parse_table(
    """
routes:
  - {source: inspections, item_code: "*", region: "330106", departments: [xihu_market]}
  - {source: "*", item_code: "*", region: "330100", departments: [hz_market]}
"""
)


@pytest.fixture
def config() -> LoopConfig:
    return LoopConfig()


@pytest.fixture
def make_hit() -> Callable[..., RuleHit]:
    counter = iter(range(1_000_000))

    def make(**over: Any) -> RuleHit:
        n = next(counter)
        data: dict[str, Any] = {
            "pack": "food",
            "pack_version": "1.0.0",
            "pack_hash": "abc",
            "rule_id": "failed_inspection",
            "title": "Inspection failed",
            "item_code": "FOOD-001",
            "level": Level.yellow,
            "score": 1.0,
            "mode": "active",
            "source": "inspections",
            "entity": USCC,
            "uscc": USCC,
            "region_code": "330106",
            "group_key": USCC,
            "event_id": f"ev-{n}",
            "event_time": T0 + timedelta(minutes=n),
            "values": {"critical_count": 1},
            "task": TaskTemplate(
                department="zj_market", checklist=["check licence"], required_evidence=["photo"]
            ),
        }
        data.update(over)
        return RuleHit(**data)

    return make


@pytest.fixture
def make_score() -> Callable[..., ModelScore]:
    def make(**over: Any) -> ModelScore:
        data: dict[str, Any] = {
            "model": "hst_inspections",
            "version": "3",
            "source": "inspections",
            "entity": USCC,
            "uscc": USCC,
            "region_code": "330106",
            "event_id": "ev-model-1",
            "event_time": T0,
            "score": 0.93,
            "threshold": 0.8,
            "alert": True,
            "warmed_up": True,
            "level": Level.yellow,
            "features": {"critical_count": 1.0, "score": 55.0},
        }
        data.update(over)
        return ModelScore(**data)

    return make


def disposition(
    task_id: str,
    action: DispositionAction,
    department: str,
    n: int,
    at: datetime | None = None,
    **over: Any,
) -> Disposition:
    """A disposition with a unique event id ``d-<n>``."""
    data: dict[str, Any] = {
        "event_id": f"d-{n}",
        "event_time": at or T0 + timedelta(minutes=10 * n),
        "task_id": task_id,
        "department": department,
        "action": action,
        "actor": f"officer-{department}",
    }
    data.update(over)
    return Disposition(**data)
