"""A case's task raised to the level of a warning that joined it later (issue #17).

One incident, one case, one task (``loop.warnings.join_cases``): the warnings one event raises
on one enterprise share the task of the event's own highest warning. A warning of a sequence
rule (投诉后检查不合格: a complaint, then a failed inspection) belongs to its last event's case
but fires with whichever of its events is read second, so it may join after the task opened —
and it may be more urgent (red, sign within 30 minutes) than the lead (orange). Opening a second
task would make the tasks depend on reading order again; so the case's task is raised instead:
its level, and deadlines no later than the joining warning's own would be from now, with its
checklist and evidence added, and one audit event that says why. The department, state and
the lead's title stay: the department holding the task goes on with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loop import deadlines, ids
from loop.calendar import weakest
from loop.state_machine import SYSTEM
from loop.supervision import SIGN_PHASE
from loop.task_opening import OPEN, TaskCase
from schemas.records import Alert, TaskEvent

if TYPE_CHECKING:
    from datetime import datetime

    from loop.loop_config import LoopConfig
    from schemas.hits import TaskTemplate


def raise_level(
    case: TaskCase,
    alert: Alert,
    template: TaskTemplate | None,
    config: LoopConfig,
    now: datetime,
) -> tuple[TaskCase, list[TaskEvent]]:
    """Raise ``case``'s open task to ``alert``'s level; nothing when it is not higher, or the
    task is done (a replayed or repeated command changes nothing)."""
    task = case.task
    if task.state not in OPEN or alert.level.rank <= task.level.rank:
        return case, []
    sign_spec = template.sign_deadline if template else None
    dispose_spec = template.dispose_deadline if template else None
    sign_at, dispose_at, basis = deadlines.task_deadlines(
        alert.level,
        config.deadlines,
        now,
        sign=sign_spec,
        dispose=dispose_spec,
        calendar=config.calendar,
    )
    default_sign, default_dispose = deadlines.level_specs(alert.level, config.deadlines)
    new = case.model_copy(deep=True)
    update: dict[str, object] = {"level": alert.level}
    if task.state in SIGN_PHASE and sign_at < task.sign_deadline:
        update["sign_deadline"] = sign_at
        new.sign_started, new.sign_spec = now, sign_spec or default_sign
    if dispose_at < task.dispose_deadline:
        update["dispose_deadline"] = dispose_at
        new.dispose_started, new.dispose_spec = now, dispose_spec or default_dispose
    if "sign_deadline" in update or "dispose_deadline" in update:
        update["deadline_basis"] = weakest([task.deadline_basis, basis])
    if template is not None:
        update["checklist"] = _merged(task.checklist, template.checklist)
        update["required_evidence"] = _merged(task.required_evidence, template.required_evidence)
    update["revision"] = task.revision + 1  # the "raise" event below
    new.task = task.model_copy(update=update)
    why = (
        f"raised {task.level.value}→{alert.level.value}: warning {alert.alert_id} "
        f"({alert.title}) joined this case; sign-for by "
        f"{new.task.sign_deadline.isoformat()}, dispose by {new.task.dispose_deadline.isoformat()}"
    )
    event = TaskEvent(
        event_id=ids.event_id(task.task_id, "raise", alert.alert_id),
        task_id=task.task_id,
        at=now,
        actor=SYSTEM,
        from_state=task.state,
        to_state=task.state,
        reason=why,
        department=task.department,
        correlation_id=task.correlation_id,
    )
    return new, [event]


def _merged(have: list[str], more: list[str]) -> list[str]:
    """``have``, then what ``more`` adds, in order, once each."""
    return [*have, *(item for item in more if item not in have)]
