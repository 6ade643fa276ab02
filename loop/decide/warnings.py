"""An entity's warnings: hits, scores, time and disposals in; alerts, task commands out.

The warning logic itself (fusion, grading, inhibition, silences) is ``loop/warnings.py``;
this decides what one event does to one entity's warnings as a whole — every change the event
brings, then what to send: each changed record on ``alerts`` (or ``alerts.shadow``) in brief,
every change whole to SQL, red records to the notification queue, a task command when a
warning must open a task or raise its case's, a profile event for a new warning on an
enterprise. An entity's warnings change once per event (all its hits and scores together).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from loop import ids
from loop.alert_topic import brief, to_publish
from loop.closed_loop import recurrence
from loop.decide import Context, Decision
from loop.decide.notices import alert_notices
from loop.messages import Message, output
from loop.task_opening import TaskCommand
from loop.warnings import EntityWarnings, claim_tasks, fold, join_cases
from loop.warnings import tick as warnings_tick
from schemas.internal import ProfileEvent
from schemas.records import Alert
from schemas.validation.pii import masked_record

if TYPE_CHECKING:
    from loop.subject import Subject
    from schemas.hits import RuleHit
    from schemas.scores import ModelScore

Change = Callable[[EntityWarnings | None], tuple[EntityWarnings | None, list[Alert]]]
"""One change to an entity's warnings (a hit, a score, a tick), as a pure function."""


@dataclass(frozen=True)
class WarningsDecision(Decision[EntityWarnings]):
    """A :class:`Decision` on an entity's warnings, with the alert records that changed (the
    worker counts and logs them)."""

    alerts: list[Alert] = field(default_factory=list)


def observation_change(
    item: RuleHit | ModelScore,
    ctx: Context,
    *,
    historical: bool = False,
    subject: Subject | None = None,
) -> Change:
    """The change a rule hit or an alerting model score makes (``historical``: a backfill's,
    opening no task; ``subject``: the name and address the event gave)."""

    def change(state: EntityWarnings | None) -> tuple[EntityWarnings | None, list[Alert]]:
        return fold(
            state, item, ctx.now, ctx.config, ctx.silences, historical=historical, subject=subject
        )

    return change


def tick_change(ctx: Context) -> Change:
    """What time alone changes: quiet warnings fall back, silences start or end."""

    def change(state: EntityWarnings | None) -> tuple[EntityWarnings | None, list[Alert]]:
        if state is None:
            return None, []
        return warnings_tick(state, ctx.now, ctx.config, ctx.silences)

    return change


def observations(
    hits: Sequence[RuleHit], scores: Sequence[ModelScore]
) -> list[RuleHit | ModelScore]:
    """What of one event's hits and scores changes warnings: every hit, and the scores that
    alert from a warmed-up model."""
    return [*hits, *(s for s in scores if s.alert and s.warmed_up)]


def changes_by_entity(
    hits: Sequence[RuleHit],
    scores: Sequence[ModelScore],
    ctx: Context,
    *,
    historical: bool = False,
    subject: Subject | None = None,
) -> dict[str, list[Change]]:
    """Every hit and alerting, warmed-up score of one event, by the entity it concerns."""
    by_entity: dict[str, list[Change]] = {}
    for item in observations(hits, scores):
        by_entity.setdefault(item.entity, []).append(
            observation_change(item, ctx, historical=historical, subject=subject)
        )
    return by_entity


def change_warnings(
    state: EntityWarnings | None,
    changes: Sequence[Change],
    ctx: Context,
    *,
    store_quiet: bool = True,
) -> WarningsDecision:
    """Apply ``changes`` to the entity's warnings; the new state and what to send.

    ``store_quiet=False`` (ticks): when no warning changed, the state is left as it was (a
    tick re-settles every due entity and must not rewrite the ones it did not change)."""
    before = state
    alerts: list[Alert] = []
    for change in changes:
        state, changed = change(state)
        alerts += changed
    if state is None or not (alerts or store_quiet):
        return WarningsDecision(before)
    state, messages = warning_messages(state, alerts, ctx)
    return WarningsDecision(state, messages, alerts)


def warning_messages(
    state: EntityWarnings, alerts: list[Alert], ctx: Context
) -> tuple[EntityWarnings, list[Message]]:
    """Alert changes on ``alerts`` (or ``alerts.shadow``); a task command for each warning
    that needs one and has not had it (``claim_tasks``: the state returned remembers it), once
    per case (``join_cases``: a warning due on the same event as another joins that one's task,
    and raises it when it is more urgent); a profile event for a new warning on an enterprise."""
    state, alerts, upgrades = join_cases(state, alerts, ctx.config)
    state, tasked = claim_tasks(state, alerts, ctx.config)
    state, on_topic = to_publish(state, alerts)
    published = {id(a) for a in on_topic}
    needs_task = {a.alert_id for a in tasked}
    outs: list[Message] = []
    for alert in alerts:
        key = alert.fingerprint
        shown = masked_record("masked", alert)  # the alerts topic is widely read: no house numbers
        topic = "alerts_shadow" if alert.shadow else "alerts"
        if id(alert) in published:
            outs.append(output(topic, key, brief(shown)))
        if not alert.shadow:
            outs.append(output("", key, shown, sink="alert"))  # every change, whole, in SQL
            known = state.warnings.get(alert.fingerprint)
            outs += alert_notices(ctx, alert, known.template if known else None)
        if alert.alert_id in needs_task:  # once, though the warning changed twice
            needs_task.discard(alert.alert_id)
            warning = state.warnings.get(alert.fingerprint)
            command = TaskCommand(
                alert=brief(alert),  # a task needs no warning's evidence records or history
                template=warning.template if warning else None,
                recurrence=recurrence(warning, ctx.now, ctx.config) if warning else None,
            )
            outs.append(output("task_commands", ids.task_id(alert.alert_id), command))
        if alert.uscc and alert.state.value == "new" and not alert.shadow:
            event = ProfileEvent(
                uscc=alert.uscc,
                kind=f"warning_{alert.level.value}",
                at=alert.last_seen,
                ref=alert.alert_id,
                region_code=alert.region_code,
            )
            outs.append(profile_message(event))
    # after the opening commands: a case opened and raised in one call opens first (same key)
    outs += [_raise_case(state, a) for a in upgrades]
    return state, outs


def _raise_case(state: EntityWarnings, alert: Alert) -> Message:
    """The command that raises a case's task to a joining warning's level, keyed by that task
    (after its opening command, on the same partition)."""
    warning = state.warnings.get(alert.fingerprint)
    command = TaskCommand(alert=brief(alert), template=warning.template if warning else None)
    return output("task_commands", str(alert.case_task_id), command)


def profile_message(event: ProfileEvent) -> Message:
    """Profiles are keyed by USCC: an update travels on its own topic to the owning partition
    (or is applied at once when that is the partition being handled: streams/effects.py)."""
    return output("profile_events", event.uscc, event)
