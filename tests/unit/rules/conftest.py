"""Factories for rule tests: packs from small YAML snippets, events with neutral defaults."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from rules.compiler import CompiledPack, load_pack_text
from rules.sources import example_event

if TYPE_CHECKING:
    from collections.abc import Callable

BASE = "2024-05-06T02:00:00+00:00"


def pack_yaml(rules: list[dict[str, Any]], name: str = "test", version: str = "1.0.0") -> str:
    return yaml.safe_dump(
        {"name": name, "version": version, "owner": "tests", "rules": rules}, allow_unicode=True
    )


def rule(**fields: Any) -> dict[str, Any]:
    """A minimal valid rule dict; override what the test is about."""
    base: dict[str, Any] = {
        "id": "t.rule",
        "title": "测试规则",
        "sources": ["inspections"],
        "item_code": "T-001",
        "condition": 'event.outcome == "fail"',
        "level": "orange",
        "score": 50,
        "examples": [
            {"name": "fires", "fire": True, "event": {"outcome": "fail"}},
            {"name": "quiet", "fire": False, "event": {"outcome": "pass"}},
        ],
    }
    base.update(fields)
    return base


@pytest.fixture
def make_pack() -> Callable[..., CompiledPack]:
    def make(*rules: dict[str, Any], name: str = "test", version: str = "1.0.0") -> CompiledPack:
        return load_pack_text(pack_yaml(list(rules), name, version), origin=f"{name}.yaml")

    return make


@pytest.fixture
def event() -> Callable[..., dict[str, Any]]:
    """event(source, minutes=0, **fields): a validated event ``minutes`` after BASE."""
    from datetime import datetime, timedelta

    counter = iter(range(1, 10_000))

    def make(source: str, minutes: float = 0, **fields: Any) -> dict[str, Any]:
        at = datetime.fromisoformat(BASE) + timedelta(minutes=minutes)
        return example_event(source, fields, f"ev-{next(counter)}", at.isoformat())

    return make


def roundtrip(state: dict[str, Any]) -> dict[str, Any]:
    """What a Faust changelog does to state: JSON out, JSON in."""
    return json.loads(json.dumps(state))
