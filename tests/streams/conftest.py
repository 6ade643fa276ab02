"""Agents under ``agent.test_context()``: no broker, memory tables, real agent code."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from config.settings import Settings
from streams.app import RiskLoopApp, build_app


@pytest.fixture
def app(settings: Settings) -> Iterator[RiskLoopApp]:
    app = build_app(settings)
    app.finalize()
    app.conf.store = "memory://"
    app.flow_control.resume()
    yield app
