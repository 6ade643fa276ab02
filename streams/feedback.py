"""Feedback stage: a disposal closes the loop on the warning's entity; profiles by USCC.

A disposed task comes back keyed by its entity (the partition that owns that entity's
warnings): the warning resolves (or is marked a false alarm), the rule's precision counters
move, the model that raised it learns the label for exactly the features it saw, and the
entity profile gets the disposition.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from loop.feedback import close_loop
from loop.profile import EntityProfile, record
from loop.tasks import TaskCase
from streams.alerting import load_warnings, publish, send_profile_event, store_warnings
from streams.logs import correlation, get_logger

if TYPE_CHECKING:
    from streams.app import RiskLoopApp

log = get_logger(__name__)


async def handle_feedback(app: RiskLoopApp, raw: bytes) -> None:
    rt = app.riskloop_runtime
    case = TaskCase.model_validate_json(raw)
    warnings = load_warnings(app, case.task.entity)
    if warnings is None:
        log.warning("feedback for an entity without warnings", task_id=case.task_id)
        return
    counters = {
        rule: app.riskloop_tables.precision.get(rule) or {"confirmed": 0, "false_alarm": 0}
        for rule in {r for r in _rules_of(warnings, case.task.fingerprint)}
    }
    with correlation(case.task.correlation_id, task_id=case.task_id):
        closed = close_loop(
            case, warnings, counters, None, now=rt.clock.now(), config=rt.loop, silences=rt.silences
        )
        store_warnings(app, closed.warnings)
        for rule, counter in (closed.counters or {}).items():
            app.riskloop_tables.precision[rule] = counter
        await publish(app, closed.warnings, closed.alerts)
        fb = closed.feedback
        for rule in fb.rules:
            rt.metrics.rule_dispositions.labels(rule, fb.result.value).inc()
        if rt.models is not None:
            for label in fb.labels:
                rt.models.learn_label(label.model, label.features, label.label)
        if case.task.uscc:
            from loop.profile import disposition_kind

            when = (case.disposed_at or rt.clock.now()).isoformat()
            await send_profile_event(
                app,
                case.task.uscc,
                disposition_kind(fb.result),
                when,
                case.task_id,
                case.task.region_code,
            )


def _rules_of(warnings: object, fingerprint: str) -> list[str]:
    w = getattr(warnings, "warnings", {}).get(fingerprint)
    if w is None:
        return []
    return [f"{r.pack}/{r.id}" for r in w.reasons.values() if r.kind == "rule"]


async def handle_profile_event(app: RiskLoopApp, raw: bytes) -> None:
    rt = app.riskloop_runtime
    body = json.loads(raw)
    current = app.riskloop_tables.profiles.get(body["uscc"])
    profile = EntityProfile.model_validate(current) if current else None
    new = record(
        profile, body["uscc"], body["kind"], datetime.fromisoformat(body["at"]), body["ref"],
        config=rt.loop.profile, region_code=body.get("region_code"),
    )  # fmt: skip
    if new is not profile:
        app.riskloop_tables.profiles[body["uscc"]] = new.model_dump(mode="json")
