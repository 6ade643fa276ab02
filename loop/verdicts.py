"""A verdict for every disposition: the pure decision the task agent applies and answers with.

``judge`` wraps the state machine's ``apply``: the new case and its events when the disposition
applies, the unchanged case when its event id was applied before (a client's retry with the same
idempotency key), or the refusal's stable reason — always with a
:class:`~schemas.records.DispositionVerdict` the worker publishes on ``tasks.verdicts``, which is
what the API and the CLI wait for before they answer (``streams/verdicts.py``).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from loop.errors import LoopError
from loop.state_machine import apply
from schemas.records import Disposition, DispositionVerdict, TaskEvent, VerdictOutcome

if TYPE_CHECKING:
    from datetime import datetime

    from loop.loop_config import LoopConfig
    from loop.task_opening import TaskCase

HTTP_STATUS: dict[str, int] = {
    "unknown_task": 404,
    "wrong_department": 409,
    "invalid_transition": 409,
    "missing_evidence": 422,
    "missing_reason": 422,
    "bad_extension": 422,
    "bad_category": 422,
}
"""The API's answer to a refusal, by reason; any other reason is a 409."""


def judge(
    case: TaskCase | None, disposition: Disposition, config: LoopConfig, now: datetime
) -> tuple[TaskCase | None, list[TaskEvent], DispositionVerdict]:
    """(case, disposition) -> (case after, its events, the verdict); never raises a LoopError."""
    base = {
        "event_id": disposition.event_id,
        "task_id": disposition.task_id,
        "action": disposition.action,
        "at": now,
    }
    try:
        new, events = apply(case, disposition, config)
    except LoopError as exc:
        held = case if case is not None and case.task_id == disposition.task_id else None
        return (
            case,
            [],
            DispositionVerdict(
                **base,
                outcome=VerdictOutcome.refused,
                reason=exc.reason,
                message=exc.message,
                state=held.task.state if held else None,
                department=held.task.department if held else None,
            ),
        )
    outcome = VerdictOutcome.applied if events else VerdictOutcome.duplicate
    message = (
        f"{disposition.action.value} applied: the task is {new.task.state.value}"
        if events
        else f"event {disposition.event_id} was applied before; nothing changed"
    )
    verdict = DispositionVerdict(
        **base,
        outcome=outcome,
        message=message,
        state=new.task.state,
        department=new.task.department,
    )
    return new, events, verdict


def repeated(
    case: TaskCase | None, disposition: Disposition, config: LoopConfig, now: datetime
) -> DispositionVerdict:
    """The verdict on a disposition whose event id was seen before: the same refusal if it was
    refused, else ``duplicate`` with where the task is now (it is never applied a second time).
    """
    _, _, verdict = judge(case, disposition, config, now)
    if verdict.outcome is VerdictOutcome.refused:
        return verdict
    return verdict.model_copy(
        update={
            "outcome": VerdictOutcome.duplicate,
            "message": f"event {disposition.event_id} was received before; it is not applied again",
        }
    )


def idempotent_event_id(task_id: str, key: str, prefix: str = "disp") -> str:
    """The event id of a disposition sent with an idempotency key: the same for every retry, so
    the state machine applies it once (it skips an event id it has applied).

    >>> idempotent_event_id("task-1", "k-42") == idempotent_event_id("task-1", "k-42")
    True
    >>> idempotent_event_id("task-1", "k-42") == idempotent_event_id("task-2", "k-42")
    False
    """
    digest = hashlib.sha256(f"{task_id}\x00{key}".encode()).hexdigest()[:24]
    return f"{prefix}-idem-{digest}"
