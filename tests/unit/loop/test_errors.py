"""The loop's refusals: each class its own stable ``reason`` code, declared in its class line."""

from __future__ import annotations

import inspect

import pytest

from loop import errors
from loop.errors import LoopError, UnknownTask

REFUSALS = [
    c
    for _, c in inspect.getmembers(errors, inspect.isclass)
    if issubclass(c, LoopError) and c is not LoopError
]


def test_every_refusal_has_its_own_reason() -> None:
    reasons = [c.reason for c in REFUSALS]
    assert len(REFUSALS) == 10
    assert "loop_error" not in reasons
    assert len(set(reasons)) == len(reasons)


def test_message_names_reason_and_task() -> None:
    exc = UnknownTask("no such task", task_id="t1")
    assert str(exc) == "unknown_task: t1: no such task"
    assert (exc.reason, exc.task_id, exc.message) == ("unknown_task", "t1", "no such task")
    assert str(UnknownTask("no such task")) == "unknown_task: no such task"


def test_a_second_class_cannot_take_a_reason() -> None:
    with pytest.raises(TypeError, match="unknown_task"):

        class Again(LoopError, reason="unknown_task"):
            """Would merge with UnknownTask under one metric label."""


def test_a_refusal_must_name_its_reason() -> None:
    with pytest.raises(TypeError):

        class Nameless(LoopError):  # type: ignore[call-arg]
            """Would report the base's code."""
