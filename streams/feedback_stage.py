"""Feedback stage: a disposal closes the loop on the warning's entity; profiles by USCC.

A disposed task comes back keyed by its entity (the partition that owns that entity's
warnings): the warning resolves (or is marked a false alarm), the rule's precision counters
move, the model that raised it learns the label for exactly the features it saw, and the
entity profile gets the disposition; a category correction teaches the complaint classifier
the complaint it scored (``loop/corrections.py``). What a disposal changes and sends is decided by
``loop/decide/feedback.py`` (pure); the states are loaded and stored by streams/handle.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loop.decide.feedback import on_feedback
from loop.decide.profiles import apply_profile_event
from schemas.internal import ProfileEvent, read_feedback
from streams.drift import report_drift
from streams.handle import PROFILES, FeedbackSlot, context, decide
from streams.logs import correlation, get_logger
from streams.rekey import partition_of
from streams.state import current_scope

if TYPE_CHECKING:
    from collections.abc import Iterable

    from loop.corrections import Correction
    from streams.effects import Message
    from streams.worker_context import WorkerContext

log = get_logger(__name__)


async def handle_feedback(worker: WorkerContext, raw: bytes) -> list[Message]:
    """A disposed task's feedback on its entity's partition: label the warnings, count the rules'
    precision, teach the models and correct a complaint's category."""
    rt = worker.runtime
    case = read_feedback(raw)  # a TaskFeedback, or a whole TaskCase sent before one
    ctx = context(worker)
    with correlation(case.correlation_id, task_id=case.task_id):
        decision = decide(
            worker, FeedbackSlot(case), case.entity, lambda s: on_feedback(s, case, ctx)
        )
        learn_correction(worker, decision.correction, decision.corrected, case.task_id)
        if decision.note == "no_warnings":
            log.warning("feedback for an entity without warnings", task_id=case.task_id)
            return []
        if decision.note == "repeated":
            log.info("task fed back before; this disposal teaches nothing", task_id=case.task_id)
            return []
        fb = decision.feedback
        assert fb is not None
        for rule in fb.rules:
            rt.metrics.rule_dispositions.labels(rule, fb.result.value).inc()
        if rt.models is not None:
            for label in fb.labels:
                rt.metrics.model_dispositions.labels(
                    label.model, label.version, fb.result.value
                ).inc()
                rt.models.learn_label(label.model, label.features, label.label)
                rt.models.observe_disposition(label.model, label.label)  # drift may demote it
            await report_drift(worker)
        return decision.messages


def learn_correction(
    worker: WorkerContext, correction: Correction | None, note: str, task_id: str
) -> None:
    """Teach the complaint classifier a category correction's example; count and log what
    became of every correction (``corrected``, ``repeated``, ``not_scored``, ``no_warning``)."""
    rt = worker.runtime
    if note == "no_correction":
        return
    rt.metrics.category_corrections.labels(note).inc()
    if correction is None:
        log.info("category correction teaches nothing", task_id=task_id, why=note)
        return
    if rt.models is not None and rt.models.learn_example(correction.model, correction.example):
        log.info(
            "complaint classifier learnt a category correction",
            task_id=task_id,
            model=correction.model,
            category=correction.example.category,
            was=correction.was,
        )


async def handle_profile_event(worker: WorkerContext, raw: bytes) -> list[Message]:
    """An event of an enterprise's history (一企一档) applied to its profile, on the partition
    that owns its USCC."""
    return _apply(worker, ProfileEvent.model_validate_json(raw))


def _apply(worker: WorkerContext, event: ProfileEvent) -> list[Message]:
    ctx = context(worker)
    return decide(
        worker, PROFILES, event.uscc, lambda p: apply_profile_event(p, event, ctx)
    ).messages


async def apply_local_profile_events(
    worker: WorkerContext, messages: Iterable[Message]
) -> list[Message]:
    """``messages`` without the profile events this partition applied itself (the agents'
    boundary calls it before the effect runner sends the rest: streams/pipeline.py).

    A profile event for a USCC whose partition is the one being handled is applied here, in
    this event's scope, instead of travelling through ``riskloop.profile-events`` to come back
    to this very partition: the profile agent would write the same table of the same partition
    (topics are co-partitioned, keys hashed by murmur2 like the producer's), one produce and
    one consume later. Inspections and complaints are keyed by USCC, so this is nearly every
    profile event (0.38 messages per input event in the 2026-12-02 bench). Applied in the
    scope, it is undone with the event and absorbed with its offset."""
    return [m for m in messages if not await _applied_here(worker, m)]


async def _applied_here(worker: WorkerContext, m: Message) -> bool:
    if m.role != "profile_events":
        return False
    scope = current_scope()
    if scope is None or partition_of(m.key, worker.settings.topics.partitions) != scope.partition:
        return False
    # the record itself, not its JSON parsed back: the event is ours, typed and valid already
    record = m.record
    _apply(
        worker,
        record if isinstance(record, ProfileEvent) else ProfileEvent.model_validate_json(m.value),
    )
    return True
