"""Errors of the closed loop, each with a stable ``reason`` code.

The worker's agents send a rejected disposition to ``deadletter`` with ``reason`` as the metric
label, so the code must be stable and the message must tell a person what to do. A subclass
names its code in its class line; two classes may not share one (the label would merge them).

>>> str(UnknownTask("no such task", task_id="t1")), UnknownTask.reason
('unknown_task: t1: no such task', 'unknown_task')
"""

from __future__ import annotations

from typing import ClassVar

from schemas.errors import RiskLoopError


class LoopError(RiskLoopError):
    """A disposition or command the loop refuses; ``reason`` is a stable machine code."""

    reason: ClassVar[str] = "loop_error"
    _owners: ClassVar[dict[str, type[LoopError]]] = {}

    def __init_subclass__(cls, *, reason: str, **kwargs: object) -> None:
        """Register ``reason`` as the subclass's code: a second class with it is a bug."""
        super().__init_subclass__(**kwargs)
        owner = LoopError._owners.setdefault(reason, cls)
        if owner is not cls:
            raise TypeError(f"reason {reason!r} of {cls.__name__} is {owner.__name__}'s already")
        cls.reason = reason

    def __init__(self, message: str, *, task_id: str = "") -> None:
        super().__init__(f"{self.reason}: {task_id + ': ' if task_id else ''}{message}")
        self.task_id = task_id
        self.message = message


class InvalidTransition(LoopError, reason="invalid_transition"):
    """The action is not allowed from the task's current state."""


class UnknownTask(LoopError, reason="unknown_task"):
    """No task with this id is known (never created, or a different task's state was passed)."""


class WrongDepartment(LoopError, reason="wrong_department"):
    """The disposition comes from a department that does not hold the task."""


class MissingEvidence(LoopError, reason="missing_evidence"):
    """A disposal without evidence or without a result: closing needs proof (DOMAIN.md)."""


class RoutingError(LoopError, reason="no_route"):
    """No department can be found for a task (no route and no template department)."""


class CalendarUnavailable(LoopError, reason="calendar_unavailable"):
    """The statutory calendar has no data for the year a working-day deadline needs."""


class UnknownWarning(LoopError, reason="unknown_warning"):
    """No warning with this fingerprint is held in the entity's state."""


class MissingReason(LoopError, reason="missing_reason"):
    """A return (退单) or reopen without a reason: the next holder must know why."""


class BadExtension(LoopError, reason="bad_extension"):
    """An extension (延期) request whose deadline cannot be granted: in the past, not later than
    the current one, or on a day off."""


class BadCategory(LoopError, reason="bad_category"):
    """A category correction that names no first-level category of the taxonomy, or comes
    with another action than a disposal."""
