"""Feedback stage: a disposal closes the loop on the warning's entity; profiles by USCC.

A disposed task comes back keyed by its entity (the partition that owns that entity's
warnings): the warning resolves (or is marked a false alarm), the rule's precision counters
move, the model that raised it learns the label for exactly the features it saw, and the
entity profile gets the disposition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loop.feedback import close_loop
from loop.profile import EntityProfile, ProfileEvent, disposition_kind, record
from loop.tasks import TaskCase
from streams.alerting import load_warnings, profile_output, store_warnings, warning_outputs
from streams.drift import report_drift
from streams.effects import Output
from streams.logs import correlation, get_logger

if TYPE_CHECKING:
    from streams.app import RiskLoopApp

log = get_logger(__name__)


async def handle_feedback(app: RiskLoopApp, raw: bytes) -> list[Output]:
    rt = app.riskloop_runtime
    case = TaskCase.model_validate_json(raw)
    entity, fingerprint = case.task.entity, case.task.fingerprint
    warnings = load_warnings(app, entity)
    if warnings is None:
        log.warning("feedback for an entity without warnings", task_id=case.task_id)
        return []
    precision = app.riskloop_tables.precision
    counters = {
        rule: precision.get(rule) or {"confirmed": 0, "false_alarm": 0}
        for rule in _rules_of(warnings, fingerprint)
    }
    with correlation(case.task.correlation_id, task_id=case.task_id):
        closed = close_loop(
            case, warnings, counters, None, now=rt.clock.now(), config=rt.loop, silences=rt.silences
        )
        fb = closed.feedback
        if closed.repeated:  # reopened and disposed again, or sent twice: the first one counted
            log.info("task fed back before; this disposal teaches nothing", task_id=case.task_id)
            return []
        warnings, outputs = warning_outputs(app, closed.warnings, closed.alerts)
        if case.task.uscc:
            when = (case.disposed_at or rt.clock.now()).isoformat()
            kind = disposition_kind(fb.result)
            outputs.append(
                profile_output(case.task.uscc, kind, when, case.task_id, case.task.region_code)
            )
        store_warnings(app, warnings)
        _store_counters(app, closed.counters or {})
        for rule in fb.rules:
            rt.metrics.rule_dispositions.labels(rule, fb.result.value).inc()
        if rt.models is not None:
            for label in fb.labels:
                rt.models.learn_label(label.model, label.features, label.label)
                rt.models.observe_disposition(label.model, label.label)  # drift may demote it
            await report_drift(app)
        return outputs


def _store_counters(app: RiskLoopApp, counters: dict[str, dict[str, int]]) -> None:
    for rule, counter in counters.items():
        app.riskloop_tables.precision[rule] = counter


def _rules_of(warnings: object, fingerprint: str) -> list[str]:
    w = getattr(warnings, "warnings", {}).get(fingerprint)
    if w is None:
        return []
    return [f"{r.pack}/{r.id}" for r in w.reasons.values() if r.kind == "rule"]


async def handle_profile_event(app: RiskLoopApp, raw: bytes) -> list[Output]:
    rt = app.riskloop_runtime
    event = ProfileEvent.model_validate_json(raw)
    profile = app.riskloop_tables.profiles.decoded(event.uscc, EntityProfile)
    new = record(
        profile, event.uscc, event.kind, event.at, event.ref,
        config=rt.loop.profile, region_code=event.region_code,
        entity_name=event.entity_name, entity_address=event.entity_address,
    )  # fmt: skip
    if new is not profile:
        app.riskloop_tables.profiles[event.uscc] = new
    return []
