"""A notification waiting to be sent: the record the deciders make and the queue stores.

Decided in loop/notify/decide.py, stored once per (warning or task, receiver, step) by the
SQL sink (sinks/notify/queue.py), sent by the worker's sender (streams/notify.py).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class NotificationIntent(BaseModel):
    """One notification to one receiver, waiting in the queue until it is sent."""

    model_config = ConfigDict(frozen=True)

    intent_id: str
    subject_id: str  # the warning's alert_id or the task's task_id
    receiver: str
    step: str
    kind: str
    audience: str
    group_key: str
    created_at: datetime
    due_at: datetime  # created_at + group_wait: wait for others of the group
    group_interval: float
    level: str
    department: str
    title: str
    text: str
    correlation_id: str = ""


class NotificationAttempt(BaseModel):
    """One attempt to deliver a notification, as the audit trail keeps it."""

    model_config = ConfigDict(frozen=True)

    intent_id: str
    receiver: str
    step: str
    attempt: int
    at: datetime
    outcome: str  # "sent", "failed", or "requeued" (an operator's `notifications retry`)
    detail: str  # "delivered", or the receiver's answer / why it could not be reached
