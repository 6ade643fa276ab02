"""The worker's internal messages, as records of the data standard (issue #16).

Records the worker sends itself, from the partition that made them to the partition that owns
their key, each with its Avro schema in ``schemas/avro`` like the external ones
(``schemas/record_specs.py``): a disposal fed back to the warning's entity (:class:`TaskFeedback`,
``riskloop.feedback``), an event for an enterprise's profile (:class:`ProfileEvent`,
``riskloop.profile-events``) and a timer tick (:class:`Tick`, ``riskloop.ticks``). The task
commands (``loop.task_opening.TaskCommand``) and re-keyed events (:class:`~schemas.records.RekeyedEvent`)
are pydantic records too, not yet with a schema of their own.

Messages in flight at an upgrade were written in the format before: the whole ``TaskCase`` on
``riskloop.feedback`` and ``b"tick"`` / ``{"clocks": …}`` on ``riskloop.ticks``. The readers
here (:func:`read_feedback`, :func:`read_tick`) take both, for one release.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, ValidationError

from schemas.records import DispositionResult, Record


class TaskFeedback(Record):
    """A disposed task, fed back to the partition that owns its warning's entity (keyed by the
    entity): what ``loop.closed_loop.close_loop`` needs to end the warning and teach the rules and
    models — not the task's whole working file."""

    task_id: str
    alert_id: str
    fingerprint: str
    entity: str
    department: str
    result: DispositionResult
    disposed_at: datetime
    uscc: str | None = None
    region_code: str | None = None
    disposed_by: str | None = None
    correlation_id: str = ""
    category: str | None = None
    """The complaint's category as the disposal corrected it (``Disposition.category``)."""
    correction_id: str | None = None
    """The event id of the disposition that corrected it: each teaches the classifier once."""


class ProfileEvent(Record):
    """One event for an enterprise's profile (一企一档), keyed by USCC, sent from the partition
    that saw it to the one that owns the USCC."""

    uscc: str
    kind: str
    at: datetime
    ref: str
    region_code: str | None = None
    entity_name: str | None = None
    entity_address: str | None = None
    model_risk: float | None = None
    """An inspection's: the inspection-risk model's P(critical finding) for it (a warmed-up
    model's live score); the profile keeps the newest for the "双随机" weights."""


class TickKind(StrEnum):
    """A wall tick (deadlines, quiet warnings) or a clock tick (absence rules, silent trucks)."""

    wall = "wall"
    clock = "clock"


class Tick(Record):
    """A timer tick for one partition (addressed to the partition, not keyed): the leader's
    wall tick, or a partition's event-time clocks sent back to it (streams/timers.py)."""

    kind: TickKind
    clocks: dict[str, float] = Field(default_factory=dict)


def read_feedback(raw: bytes) -> TaskFeedback:
    """A feedback message: a :class:`TaskFeedback`, or the whole ``TaskCase`` sent before it
    (messages in flight at an upgrade). ``ValueError`` when it is neither."""
    try:
        return TaskFeedback.model_validate_json(raw)
    except ValidationError as new_error:
        try:
            case = json.loads(raw)
            return feedback_of_case(case)
        except (ValueError, TypeError, KeyError, AttributeError, ValidationError):
            raise ValueError(f"not a feedback record: {new_error.errors()[0]['msg']}") from None


def feedback_of_case(case: dict[str, Any]) -> TaskFeedback:
    """A ``TaskCase`` in its JSON form (the feedback format before :class:`TaskFeedback`)."""
    task = case["task"]
    return TaskFeedback(
        task_id=task["task_id"],
        alert_id=task["alert_id"],
        fingerprint=task["fingerprint"],
        entity=task["entity"],
        department=task["department"],
        result=case["result"],
        disposed_at=case["disposed_at"],
        uscc=task.get("uscc"),
        region_code=task.get("region_code"),
        disposed_by=case.get("disposed_by"),
        correlation_id=task.get("correlation_id") or "",
    )


def read_tick(raw: bytes) -> Tick:
    """A tick: a :class:`Tick`, or the bytes sent before it (``b"tick"``, ``{"clocks": …}``).
    ``ValueError`` when it is none of them.

    >>> read_tick(b"tick").kind.value
    'wall'
    >>> read_tick(b'{"clocks": {"trucks": 1.5}}').clocks
    {'trucks': 1.5}
    """
    if raw == b"tick":
        return Tick(kind=TickKind.wall)
    try:
        return Tick.model_validate_json(raw)
    except ValidationError:
        pass
    try:
        clocks = json.loads(raw)["clocks"]
        return Tick(kind=TickKind.clock, clocks={str(s): float(t) for s, t in clocks.items()})
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"not a tick: {raw[:60]!r}") from exc


class NearbyComplaint(Record):
    """A located complaint of a kind the inspection model counts near premises, one copy per
    partition (``riskloop.nearby-complaints``, addressed to each partition, not keyed), so the
    inspection model of every partition counts it (streams/nearby.py)."""

    ref: str
    """The complaint's event id."""
    at: datetime
    lat: float
    lon: float
    origin: str
    """``topic:partition:offset`` of the complaint it copies: a copy sent again (its complaint
    redone after a crash) is counted once."""
