"""Category corrections (分类更正): a disposal that says a complaint was filed under the wrong
category teaches the complaint classifier the right one.

The hotline files a complaint under a category (卫生计生); the department that verifies it finds
it belongs elsewhere and says so in its disposal (``Disposition.category``, a first-level
category of the taxonomy, ``schemas.categories``). The disposal travels to the partition that
owns the warning's entity (``TaskFeedback.category``), and there :func:`correct` turns it into a
labelled example for the classifier.

Only for a complaint the classifier actually scored: when it scores a complaint that raises
or joins a warning, the warning keeps that complaint as it was read
(:class:`~loop.subject.ScoredComplaint`: text already masked at the door, as much as the
classifier reads). The example is built from that record — never from text in the correction
message, which any writer of ``tasks.dispositions`` controls. A warning with no scored complaint
(a rule on re-keyed complaints, one from another source) records the correction and teaches
nothing.

Once per disposition: the correcting disposition's event id is kept on the warning
(``WarningState.corrections``), so a feedback message delivered twice, or a replay, teaches
nothing more; a task reopened and disposed again with a category is a new disposition and
teaches its own correction (unlike the confirmed/false-alarm label, which is the first
disposal's, ``loop.closed_loop``). A correction to the category the complaint already had
teaches it all the same: a department confirming the hotline's category is a label too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from schemas.records import Complaint, EvidenceRecord

if TYPE_CHECKING:
    from loop.loop_config import LoopConfig
    from loop.subject import ScoredComplaint
    from loop.warnings import EntityWarnings
    from schemas.internal import TaskFeedback


class Correction(BaseModel):
    """A labelled example for one classifier, from one correcting disposition."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    example: Complaint
    was: str | None
    """What the hotline had filed it under."""
    task_id: str
    correction_id: str


def correct(
    warnings: EntityWarnings, fed: TaskFeedback, config: LoopConfig
) -> tuple[EntityWarnings, Correction | None, str]:
    """Apply a disposal's category correction to the entity's warnings.

    Returns the warnings (the correction remembered, the complaint's evidence brief showing
    the category), the example for the classifier (None when there is nothing to teach) and a
    note: ``no_correction``, ``no_warning``, ``repeated``, ``not_scored`` or ``corrected``.
    """
    if fed.category is None:
        return warnings, None, "no_correction"
    warning = warnings.warnings.get(fed.fingerprint)
    if warning is None:
        return warnings, None, "no_warning"
    correction_id = fed.correction_id or fed.task_id
    if correction_id in warning.corrections:
        return warnings, None, "repeated"
    seen = warning.complaint
    new = warning.model_copy(
        update={"corrections": [*warning.corrections, correction_id][-config.max_seen :]}
    )
    if seen is not None:
        new.evidence_records = [_noted(r, seen, fed) for r in warning.evidence_records]
    out = warnings.model_copy(update={"warnings": {**warnings.warnings, fed.fingerprint: new}})
    if seen is None:
        return out, None, "not_scored"
    example = Correction(
        model=seen.model,
        example=seen.corrected(fed.category),
        was=seen.category,
        task_id=fed.task_id,
        correction_id=correction_id,
    )
    return out, example, "corrected"


def _noted(record: EvidenceRecord, seen: ScoredComplaint, fed: TaskFeedback) -> EvidenceRecord:
    """The scored complaint's evidence brief, with the category as corrected and by whom."""
    if record.event_id != seen.event_id:
        return record
    by = fed.disposed_by or fed.department
    values = {
        **record.values,
        "category": f"{fed.category}（{by}更正，原 {seen.category or '未分类'}）",
    }
    return record.model_copy(update={"values": values})
