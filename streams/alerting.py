"""Warning stage: hits and scores → the entity's warnings → alerts and task commands.

The warning logic itself (fusion, grading, inhibition, silences) is pure, in loop/warnings.py;
this stage loads the entity's state from its table, calls it, stores the result and publishes
every change on ``alerts`` (shadow ones on ``alerts.shadow``). A warning that needs a task sends
an "open" command keyed by the deterministic task id; the task agent ignores a second one.
An entity's warnings change once per event (all its hits and scores together).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from loop import ids
from loop.alert_topic import brief, to_publish
from loop.feedback import recurrence
from loop.profile import ProfileEvent
from loop.subject import Subject
from loop.tasks import TaskCommand
from loop.warnings import EntityWarnings, apply_hit, apply_score, claim_tasks, join_cases
from models.score import ModelScore
from rules.hit import RuleHit
from schemas.records import Alert
from schemas.validation.pii import masked_record
from streams.effects import Output, output
from streams.logs import get_logger
from streams.notify import alert_notifications
from streams.scoring import Scored

if TYPE_CHECKING:
    from streams.app import RiskLoopApp

log = get_logger(__name__)
_NEWS = {"new", "escalated"}


def load_warnings(app: RiskLoopApp, entity: str) -> EntityWarnings | None:
    """The entity's warnings (decoded once after a restore, then kept decoded)."""
    return app.riskloop_tables.warnings.decoded(entity, EntityWarnings)


def store_warnings(app: RiskLoopApp, state: EntityWarnings) -> None:
    """Store the entity's warnings (written to the changelog at the next checkpoint)."""
    app.riskloop_tables.warnings[state.entity] = state


Change = Callable[[EntityWarnings | None], tuple[EntityWarnings | None, list[Alert]]]


def change_warnings(
    app: RiskLoopApp, entity: str, changes: list[Change], *, store_quiet: bool = True
) -> tuple[list[Alert], list[Output]]:
    """Apply ``changes`` to the entity's warnings and store them; the alerts that changed and
    what to send (the effect runner sends it: streams/effects.py).

    ``store_quiet=False`` (timers) stores nothing when no warning changed.
    """
    state = load_warnings(app, entity)
    alerts: list[Alert] = []
    for change in changes:
        state, changed = change(state)
        alerts += changed
    if state is None or not (alerts or store_quiet):
        return [], []
    state, outputs = warning_outputs(app, state, alerts)
    store_warnings(app, state)
    _observe(app, alerts)
    return alerts, outputs


async def raise_warnings(
    app: RiskLoopApp,
    scored: Scored,
    *,
    historical: bool = False,
    subject: Subject | None = None,
) -> tuple[list[Alert], list[Output]]:
    """Fold every hit and alerting score into its entity's warnings; the changes and what
    to send.

    ``historical``: the event came from a backfill (streams/backfill.py): no task.
    ``subject``: the name, address and masked complaint text the event carried."""
    rt = app.riskloop_runtime
    now = rt.clock.now()
    kw: dict[str, Any] = {
        "now": now,
        "config": rt.loop,
        "silences": rt.silences,
        "historical": historical,
        "subject": subject,
    }
    by_entity: dict[str, list[Change]] = {}
    for hit in scored.hits:
        by_entity.setdefault(hit.entity, []).append(partial(_hit, hit=hit, **kw))
    for s in scored.scores:
        if s.alert and s.warmed_up:
            by_entity.setdefault(s.entity, []).append(partial(_score, score=s, **kw))
    published: list[Alert] = []
    outputs: list[Output] = []
    for entity, changes in by_entity.items():
        alerts, out = change_warnings(app, entity, changes)
        published += alerts
        outputs += out
    return published, outputs


def _hit(
    state: EntityWarnings | None, *, hit: RuleHit, **kw: Any
) -> tuple[EntityWarnings, list[Alert]]:
    return apply_hit(
        state, hit, kw["now"], kw["config"], kw["silences"],
        historical=kw["historical"], subject=kw["subject"],
    )  # fmt: skip


def _score(
    state: EntityWarnings | None, *, score: ModelScore, **kw: Any
) -> tuple[EntityWarnings, list[Alert]]:
    return apply_score(
        state, score, kw["now"], kw["config"], kw["silences"],
        historical=kw["historical"], subject=kw["subject"],
    )  # fmt: skip


def warning_outputs(
    app: RiskLoopApp, state: EntityWarnings, alerts: list[Alert]
) -> tuple[EntityWarnings, list[Output]]:
    """Alert changes on ``alerts`` (or ``alerts.shadow``); a task command for each warning
    that needs one and has not had it (``claim_tasks``: the state returned remembers it), once
    per case (``join_cases``: a warning due on the same event as another joins that one's task,
    and raises it when it is more urgent); a profile event for a new warning on an enterprise."""
    rt = app.riskloop_runtime
    state, alerts, upgrades = join_cases(state, alerts, rt.loop)
    state, tasked = claim_tasks(state, alerts, rt.loop)
    state, on_topic = to_publish(state, alerts)
    published = {id(a) for a in on_topic}
    needs_task = {a.alert_id for a in tasked}
    outs: list[Output] = []
    for alert in alerts:
        key = alert.fingerprint
        shown = masked_record("masked", alert)  # the alerts topic is widely read: no house numbers
        topic = "alerts_shadow" if alert.shadow else "alerts"
        if id(alert) in published:
            outs.append(output(topic, key, brief(shown)))
        if not alert.shadow:
            outs.append(output("", key, shown, sink="alert"))  # every change, whole, in SQL
            known = state.warnings.get(alert.fingerprint)
            outs += alert_notifications(rt, alert, known.template if known else None)
        if alert.alert_id in needs_task:  # once, though the warning changed twice
            needs_task.discard(alert.alert_id)
            warning = state.warnings.get(alert.fingerprint)
            command = TaskCommand(
                alert=brief(alert),  # a task needs no warning's evidence records or history
                template=warning.template if warning else None,
                recurrence=recurrence(warning, rt.clock.now(), rt.loop) if warning else None,
            )
            outs.append(output("task_commands", ids.task_id(alert.alert_id), command))
        if alert.uscc and alert.state.value == "new" and not alert.shadow:
            outs.append(
                profile_output(
                    alert.uscc,
                    f"warning_{alert.level.value}",
                    alert.last_seen.isoformat(),
                    alert.alert_id,
                    alert.region_code,
                )  # fmt: skip
            )
    # after the opening commands: a case opened and raised in one call opens first (same key)
    outs += [_raise_case(state, a) for a in upgrades]
    return state, outs


def _raise_case(state: EntityWarnings, alert: Alert) -> Output:
    """The command that raises a case's task to a joining warning's level, keyed by that task
    (after its opening command, on the same partition)."""
    warning = state.warnings.get(alert.fingerprint)
    command = TaskCommand(alert=brief(alert), template=warning.template if warning else None)
    return output("task_commands", str(alert.case_task_id), command)


def _observe(app: RiskLoopApp, alerts: list[Alert]) -> None:
    m = app.riskloop_runtime.metrics
    for alert in alerts:
        m.warnings.labels(
            alert.level.value, alert.source, alert.state.value, (alert.region_code or "")[:4]
        ).inc()
        # new and escalated warnings are news for an operator; routine updates are debug
        (log.info if alert.state.value in _NEWS else log.debug)(
            "warning", alert_id=alert.alert_id, state=alert.state.value, level=alert.level.value
        )


def profile_output(
    uscc: str,
    kind: str,
    at: str,
    ref: str,
    region_code: str | None,
    subject: Subject | None = None,
) -> Output:
    """Profiles are keyed by USCC: updates travel on their own topic to the owning partition.
    ``subject``: the name and address the event gave (inspections, complaints), if any."""
    event = ProfileEvent(
        uscc=uscc, kind=kind, at=datetime.fromisoformat(at), ref=ref, region_code=region_code,
        entity_name=subject.name if subject else None,
        entity_address=subject.address if subject else None,
    )  # fmt: skip
    return output("profile_events", uscc, event)
