"""Closing the loop: what a disposed task teaches the models, the rules and the profile.

A disposal's result is a label (DOMAIN.md): 属实已处置 (confirmed) and 责令整改 (rectification)
say the warning was right, 不属实 (false_alarm) that it was wrong. 查无此事 (not_found) says
neither — the risk may have gone before anyone looked — so it ends the warning but teaches
nothing and counts in no rule's precision. The mapping has one owner, ``schemas.labels``,
which the models read too.

:func:`feedback_for` reads a disposed (or closed) task and the warning that raised it and
returns one :class:`Feedback`: labels for every model that scored the warning, with the exact
features it saw; the rules to credit; and how the warning ends. :func:`close_loop` applies it
to the states the worker keeps (entity warnings, precision counters, entity profile). Call it
when the state machine emits a ``disposed`` event — that is when the result is fed back;
a replayed disposition emits no event, so nothing is counted twice.

One task, one label (choice): **the first disposal of a task is the one fed back.** A task
the risk centre reopens and the department disposes again, or a feedback record that reaches
the entity twice, finds its task id in the warning's ``fed_back`` and changes nothing — no
precision count, no model label, no profile entry (the later disposal stays in the task's
audit trail). The first, not the latest, because a River model cannot unlearn a label, and
rule precision must count the same labels the models learned.

Recurrence (choice): a warning that comes back within ``recurrence_window`` of its closure is a
new epoch with a new alert id, so it gets a **new task linked to the old one** through
``previous_task_id`` and sent to the department that closed it (:func:`recurrence`). The old
task stays closed; its audit trail is never rewritten, and the new task gets fresh deadlines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from loop.errors import InvalidTransition
from loop.profile import EntityProfile, disposition_kind, record
from loop.task_opening import Recurrence, TaskCase
from loop.warnings import EntityWarnings, WarningState, resolve
from schemas.internal import TaskFeedback
from schemas.labels import label_of
from schemas.records import Alert, DispositionResult, TaskState

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from loop.loop_config import LoopConfig
    from loop.silences import Silence

_DONE = {TaskState.disposed, TaskState.closed}


class ModelLabel(BaseModel):
    """A late label for a model: what it saw when it alerted, and whether it was right."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    version: str
    content_hash: str = ""
    features: dict[str, float]
    label: bool
    alert_id: str
    task_id: str


class Feedback(BaseModel):
    """Everything one disposal feeds back."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task_id: str
    alert_id: str
    fingerprint: str
    result: DispositionResult
    label: bool | None
    labels: list[ModelLabel] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)


class ClosedLoop(BaseModel):
    """What :func:`close_loop` returns: publish ``alerts`` and ``feedback.labels``, store the rest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    feedback: Feedback
    warnings: EntityWarnings
    alerts: list[Alert]
    counters: dict[str, dict[str, int]]
    profile: EntityProfile | None
    repeated: bool = False  # the task was fed back before: store and send nothing


def feedback_record(case: TaskCase) -> TaskFeedback:
    """What a disposed or closed task feeds back to its warning's entity (the internal
    message on ``riskloop.feedback``): ``InvalidTransition`` for a task not done."""
    task = case.task
    if task.state not in _DONE or case.result is None:
        raise InvalidTransition(
            f"feedback needs a disposed or closed task; this one is {task.state.value}",
            task_id=case.task_id,
        )
    return TaskFeedback(
        task_id=task.task_id,
        alert_id=task.alert_id,
        fingerprint=task.fingerprint,
        entity=task.entity,
        department=task.department,
        result=case.result,
        disposed_at=case.disposed_at or case.closed_at or task.created_at,
        uscc=task.uscc,
        region_code=task.region_code,
        disposed_by=case.disposed_by,
        correlation_id=task.correlation_id,
        category=case.category,
        correction_id=case.category_by,
    )


def _fed(case: TaskCase | TaskFeedback) -> TaskFeedback:
    return case if isinstance(case, TaskFeedback) else feedback_record(case)


def feedback_for(case: TaskCase | TaskFeedback, warning: WarningState) -> Feedback:
    """The feedback of a disposed or closed task, from the warning that raised it."""
    case = _fed(case)
    label = label_of(case.result)
    models = [r for r in warning.reasons.values() if r.kind == "model"]
    labels = [
        ModelLabel(
            model=r.id,
            version=r.version,
            content_hash=r.content_hash,
            features=warning.features.get(r.id, {}),
            label=label,
            alert_id=case.alert_id,
            task_id=case.task_id,
        )
        for r in sorted(models, key=lambda r: r.id)
        if label is not None
    ]
    rules = rule_keys(warning)
    return Feedback(
        task_id=case.task_id,
        alert_id=case.alert_id,
        fingerprint=case.fingerprint,
        result=case.result,
        label=label,
        labels=labels,
        rules=rules if label is not None else [],
    )


def rule_keys(warning: WarningState) -> list[str]:
    """The rules a disposal of ``warning``'s task labels, as their precision counters are
    keyed (``pack/rule_id``), sorted."""
    return sorted(
        f"{r.pack}/{r.id}" if r.pack else r.id for r in warning.reasons.values() if r.kind == "rule"
    )


def update_precision(
    counters: dict[str, dict[str, int]] | None, fb: Feedback
) -> dict[str, dict[str, int]]:
    """Per-rule counts of confirmed and false-alarm results (keyed ``pack/rule_id``)."""
    out = {k: dict(v) for k, v in (counters or {}).items()}
    if fb.label is None:
        return out
    field = "confirmed" if fb.label else "false_alarm"
    for rule in fb.rules:
        slot = out.setdefault(rule, {"confirmed": 0, "false_alarm": 0})
        slot[field] += 1
    return out


def precision(counter: dict[str, int]) -> float | None:
    """Share of ``confirmed`` among confirmed + false_alarm labels; None before the first."""
    total = counter.get("confirmed", 0) + counter.get("false_alarm", 0)
    return counter.get("confirmed", 0) / total if total else None


def recurrence(warning: WarningState, now: datetime, config: LoopConfig) -> Recurrence | None:
    """The closed task a recurring warning should link to, if it closed recently enough."""
    if (
        warning.epoch > 1
        and warning.closed_at is not None
        and warning.closed_task_id is not None
        and now - warning.closed_at <= config.recurrence_window
    ):
        return Recurrence(
            previous_task_id=warning.closed_task_id, department=warning.closed_department
        )
    return None


def close_loop(
    case: TaskCase | TaskFeedback,
    warnings: EntityWarnings,
    counters: dict[str, dict[str, int]] | None,
    profile: EntityProfile | None,
    *,
    now: datetime,
    config: LoopConfig,
    silences: Sequence[Silence] = (),
) -> ClosedLoop:
    """Apply a disposal to every state it touches; store each part of the result back.

    The profile is only touched when the task's entity has a USCC.
    """
    case = _fed(case)
    fingerprint = case.fingerprint
    warning = warnings.warnings.get(fingerprint)
    if warning is None:
        raise InvalidTransition(f"no warning {fingerprint} for this task", task_id=case.task_id)
    fb = feedback_for(case, warning)
    if case.task_id in warning.fed_back:
        quiet = fb.model_copy(update={"labels": [], "rules": []})
        return ClosedLoop(
            feedback=quiet,
            warnings=warnings,
            alerts=[],
            counters=dict(counters or {}),
            profile=profile,
            repeated=True,
        )
    warnings, alerts = resolve(
        warnings,
        case.alert_id,
        fb.result,
        now,
        config,
        task_id=case.task_id,
        department=case.disposed_by or case.department,
        silences=silences,
    )
    done = warnings.warnings[fingerprint]
    done.fed_back = [*done.fed_back, case.task_id][-config.max_seen :]
    counters = update_precision(counters, fb)
    if case.uscc:
        profile = record(
            profile,
            case.uscc,
            disposition_kind(fb.result),
            case.disposed_at or now,
            case.task_id,
            config=config.profile,
            region_code=case.region_code,
        )
    return ClosedLoop(
        feedback=fb, warnings=warnings, alerts=alerts, counters=counters, profile=profile
    )
