"""A disposal fed back to the warning's entity: the warning ends, the rules and models learn.

A disposed task comes back keyed by its entity (the partition that owns that entity's
warnings). ``loop/closed_loop.py`` decides what the disposal teaches (:func:`~loop.closed_loop.close_loop`:
one task, one label); this decides what one feedback message does to the states it touches —
the entity's warnings and the precision counters of the rules the warning names — and what to
send: the warning's changes (``loop/decide/warnings.py``) and the disposition for the
enterprise's profile. The model labels are returned for the worker to teach its models, and a
category correction's example for the complaint classifier (``loop/corrections.py``: once per
correcting disposition, even when the task's label was fed back before).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from loop.closed_loop import Feedback, close_loop, rule_keys
from loop.corrections import Correction, correct
from loop.decide import Context, Decision
from loop.decide.warnings import profile_message, warning_messages
from loop.profile import disposition_kind
from schemas.internal import ProfileEvent, TaskFeedback

if TYPE_CHECKING:
    from loop.warnings import EntityWarnings
    from schemas.records import Alert

Counters = dict[str, dict[str, int]]


@dataclass(frozen=True)
class FeedbackState:
    """What a disposal changes on the entity's partition: its warnings, and the precision
    counters (``{confirmed, false_alarm}``) of the rules the disposed warning names."""

    warnings: EntityWarnings | None
    counters: Counters = field(default_factory=dict)


@dataclass(frozen=True)
class FeedbackDecision(Decision[FeedbackState]):
    """A :class:`Decision` on a disposal, with what it taught (``feedback``: the rules credited
    and the labels for the models; ``None`` when nothing was taught), the warning records that
    changed, and ``note``: ``fed_back``, ``repeated`` (the task was fed back before) or
    ``no_warnings`` (the entity has none). ``correction``: the example a category correction
    teaches the complaint classifier (None: nothing to teach), ``corrected`` what became of
    the correction (``loop.corrections.correct``'s note)."""

    feedback: Feedback | None = None
    alerts: list[Alert] = field(default_factory=list)
    note: str = ""
    correction: Correction | None = None
    corrected: str = "no_correction"


def labelled_rules(warnings: EntityWarnings | None, case: TaskFeedback) -> list[str]:
    """The rules whose precision a disposal of ``case`` may count: those of the warning that
    raised it (the counters to load before :func:`on_feedback`)."""
    warning = warnings.warnings.get(case.fingerprint) if warnings is not None else None
    return [] if warning is None else rule_keys(warning)


def on_feedback(state: FeedbackState | None, case: TaskFeedback, ctx: Context) -> FeedbackDecision:
    """Apply a disposal to the entity's warnings and the rules' precision; what to send."""
    if state is None or state.warnings is None:
        return FeedbackDecision(state, note="no_warnings")
    corrected, correction, note = correct(state.warnings, case, ctx.config)
    closed = close_loop(
        case,
        corrected,
        state.counters,
        None,
        now=ctx.now,
        config=ctx.config,
        silences=ctx.silences,
    )
    if closed.repeated:  # reopened and disposed again, or sent twice: the first one counted
        kept = state if corrected is state.warnings else FeedbackState(corrected, state.counters)
        return FeedbackDecision(kept, note="repeated", correction=correction, corrected=note)
    fb = closed.feedback
    warnings, messages = warning_messages(closed.warnings, closed.alerts, ctx)
    if case.uscc:
        event = ProfileEvent(
            uscc=case.uscc,
            kind=disposition_kind(fb.result),
            at=case.disposed_at,
            ref=case.task_id,
            region_code=case.region_code,
        )
        messages.append(profile_message(event))
    new = FeedbackState(warnings, closed.counters or {})
    return FeedbackDecision(
        new,
        messages,
        feedback=fb,
        alerts=closed.alerts,
        note="fed_back",
        correction=correction,
        corrected=note,
    )
