"""Errors of the closed loop, each with a stable ``reason`` code.

The worker's agents send a rejected disposition to ``deadletter`` with ``reason`` as the metric
label, so the code must be stable and the message must tell a person what to do.
"""

from __future__ import annotations

from schemas.errors import RiskLoopError


class LoopError(RiskLoopError):
    """A disposition or command the loop refuses; ``reason`` is a stable machine code."""

    reason = "loop_error"

    def __init__(self, message: str, *, task_id: str = "") -> None:
        super().__init__(f"{self.reason}: {task_id + ': ' if task_id else ''}{message}")
        self.task_id = task_id
        self.message = message


class InvalidTransition(LoopError):
    """The action is not allowed from the task's current state."""

    reason = "invalid_transition"


class UnknownTask(LoopError):
    """No task with this id is known (never created, or a different task's state was passed)."""

    reason = "unknown_task"


class WrongDepartment(LoopError):
    """The disposition comes from a department that does not hold the task."""

    reason = "wrong_department"


class MissingEvidence(LoopError):
    """A disposal without evidence or without a result: closing needs proof (DOMAIN.md)."""

    reason = "missing_evidence"


class RoutingError(LoopError):
    """No department can be found for a task (no route and no template department)."""

    reason = "no_route"


class CalendarUnavailable(LoopError):
    """The statutory calendar has no data for the year a working-day deadline needs."""

    reason = "calendar_unavailable"


class UnknownWarning(LoopError):
    """No warning with this fingerprint is held in the entity's state."""

    reason = "unknown_warning"


class MissingReason(LoopError):
    """A return (退单) or reopen without a reason: the next holder must know why."""

    reason = "missing_reason"


class BadExtension(LoopError):
    """An extension (延期) request whose deadline cannot be granted: in the past, not later than
    the current one, or on a day off."""

    reason = "bad_extension"


class BadCategory(LoopError):
    """A category correction that names no first-level category of the taxonomy, or comes
    with another action than a disposal."""

    reason = "bad_category"
