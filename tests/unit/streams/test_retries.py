"""The waits between tries of the worker's unskippable steps (streams/retries.py)."""

from __future__ import annotations

import asyncio
import doctest
from typing import TYPE_CHECKING, Any

import streams.retries
from streams.retries import Retries

if TYPE_CHECKING:
    import pytest


def test_the_examples_hold() -> None:
    assert doctest.testmod(streams.retries).failed == 0


def test_each_failure_is_logged_with_its_wait_then_waited(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []
    said: list[tuple[str, dict[str, Any]]] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(streams.retries.asyncio, "sleep", sleep)
    retries = Retries(first=1.0, cap=5.0)
    for _ in range(5):
        asyncio.run(
            retries.wait(
                lambda event, **f: said.append((event, f)), "retrying", OSError(28, "full"), p=3
            )
        )
    assert slept == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert retries.failures == 5
    event, fields = said[0]
    assert event == "retrying"
    assert fields == {"p": 3, "error": "OSError: [Errno 28] full", "retry_in": 1.0}
