"""Notification intents as messages for the SQL queue: a red warning record, a ladder step.

Which notifications a record calls for is ``loop/notify/decide.py``'s; this wraps them as
messages for the ``notification`` sink, so the warning and task deciders send them with the
records that caused them (same outbox, same checkpoint). Nothing when notifications are off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loop.messages import Message, output
from loop.notify.decide import for_alert, for_supervision, pages
from loop.supervision import phase
from loop.task_opening import TaskCase, route

if TYPE_CHECKING:
    from collections.abc import Sequence

    from loop.decide import Context
    from schemas.hits import TaskTemplate
    from schemas.notification import NotificationIntent
    from schemas.records import Alert, SupervisionEvent


def alert_notices(ctx: Context, alert: Alert, template: TaskTemplate | None) -> list[Message]:
    """Queue messages for one published warning record."""
    if ctx.notify is None or ctx.routing is None or not pages(alert):
        return []  # before routing: most records are not red
    department = route(alert, template, ctx.routing, ctx.config.centre)[0][0]
    return _queued(for_alert(alert, department, ctx.notify, ctx.now))


def supervision_notices(
    ctx: Context, case: TaskCase, events: Sequence[SupervisionEvent]
) -> list[Message]:
    """Queue messages for the ladder steps just raised on ``case`` (the case before them)."""
    step_phase = phase(case.task)
    if ctx.notify is None or step_phase is None:
        return []
    return _queued(
        [
            i
            for ev in events
            for i in for_supervision(ev, case.task, step_phase, ctx.notify, ctx.now)
        ]
    )


def _queued(intents: list[NotificationIntent]) -> list[Message]:
    return [output("", i.intent_id, i, sink="notification") for i in intents]
