"""Run the ``>>>`` examples of the sinks modules, so the docs cannot rot."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["sinks.backoff", "sinks.errors", "sinks.outbox", "sinks.migrate", "sinks.sql"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
