"""Warning stage: hits and scores → the entity's warnings → alerts and task commands.

The warning logic itself (fusion, grading, inhibition, silences) is pure, in loop/warnings.py;
this stage loads the entity's state from its table, calls it, stores the result and publishes
every change on ``alerts`` (shadow ones on ``alerts.shadow``). A warning that needs a task sends
an "open" command keyed by the deterministic task id; the task agent ignores a second one.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from loop import ids
from loop.feedback import recurrence
from loop.warnings import EntityWarnings, apply_hit, apply_score, should_task
from schemas.records import Alert
from streams.logs import get_logger
from streams.scoring import Scored

if TYPE_CHECKING:
    from streams.app import RiskLoopApp

log = get_logger(__name__)
_NEWS = {"new", "escalated"}


def load_warnings(app: RiskLoopApp, entity: str) -> EntityWarnings | None:
    """The entity's warnings: decoded once, then from the worker's write-through cache.

    The table stays the source of truth (changelog, recovery); the cache only saves decoding
    it on every hit, and is cleared whenever partitions move (see streams/app.py).
    """
    cache = app.riskloop_runtime.warnings_cache
    if entity in cache:
        return cache[entity]
    raw = app.riskloop_tables.warnings.get(entity)
    state = EntityWarnings.model_validate(raw) if raw else None
    if state is not None:
        cache[entity] = state
    return state


def store_warnings(app: RiskLoopApp, state: EntityWarnings) -> None:
    app.riskloop_tables.warnings[state.entity] = state.model_dump(mode="json")
    app.riskloop_runtime.warnings_cache[state.entity] = state


async def raise_warnings(app: RiskLoopApp, scored: Scored) -> list[Alert]:
    """Fold every hit and alerting score into its entity's warnings; publish the changes."""
    rt = app.riskloop_runtime
    now = rt.clock.now()
    published: list[Alert] = []
    for hit in scored.hits:
        state, alerts = apply_hit(load_warnings(app, hit.entity), hit, now, rt.loop, rt.silences)
        store_warnings(app, state)
        published += await publish(app, state, alerts)
    for s in scored.scores:
        if not (s.alert and s.warmed_up):
            continue
        state, alerts = apply_score(load_warnings(app, s.entity), s, now, rt.loop, rt.silences)
        store_warnings(app, state)
        published += await publish(app, state, alerts)
    return published


async def publish(app: RiskLoopApp, state: EntityWarnings, alerts: list[Alert]) -> list[Alert]:
    """Send alert changes; open a task for each that needs one."""
    rt = app.riskloop_runtime
    topics = app.riskloop_topics
    if alerts and app.riskloop_sinks is not None:
        await app.riskloop_sinks.alerts([a for a in alerts if not a.shadow])
    for alert in alerts:
        topic = topics.alerts_shadow if alert.shadow else topics.alerts
        await topic.send(key=alert.fingerprint.encode(), value=alert.model_dump_json().encode())
        rt.metrics.warnings.labels(
            alert.level.value, alert.source, alert.state.value, (alert.region_code or "")[:4]
        ).inc()
        # new and escalated warnings are news for an operator; routine updates are debug
        (log.info if alert.state.value in _NEWS else log.debug)(
            "warning", alert_id=alert.alert_id, state=alert.state.value, level=alert.level.value
        )
        if should_task(alert, rt.loop):
            warning = state.warnings.get(alert.fingerprint)
            command = {
                "alert": alert.model_dump(mode="json"),
                "template": warning.template.model_dump(mode="json")
                if warning and warning.template
                else None,
                "recurrence": (
                    rec.model_dump(mode="json")
                    if warning and (rec := recurrence(warning, rt.clock.now(), rt.loop))
                    else None
                ),
            }
            await topics.task_commands.send(
                key=ids.task_id(alert.alert_id).encode(),
                value=json.dumps(command, ensure_ascii=False).encode(),
            )
        if alert.uscc and alert.state.value == "new" and not alert.shadow:
            await send_profile_event(
                app,
                alert.uscc,
                f"warning_{alert.level.value}",
                alert.last_seen.isoformat(),
                alert.alert_id,
                alert.region_code,
            )
    return alerts


async def send_profile_event(
    app: RiskLoopApp, uscc: str, kind: str, at: str, ref: str, region_code: str | None
) -> None:
    """Profiles are keyed by USCC: updates travel on their own topic to the owning partition."""
    body = {"uscc": uscc, "kind": kind, "at": at, "ref": ref, "region_code": region_code}
    await app.riskloop_topics.profile_events.send(
        key=uscc.encode(), value=json.dumps(body).encode()
    )
