"""An enterprise's profile (一企一档): which events enter it, and what one does to it.

Source events that name an enterprise — an inspection result (by its outcome) or a complaint —
enter its profile, as do its new warnings and its tasks' disposals (``loop/decide/warnings.py``,
``loop/decide/feedback.py``). Profiles are keyed by USCC, so each goes to the owning partition
as a :class:`~loop.profile.ProfileEvent` and is applied there by :func:`apply_profile_event`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loop.decide import Context, Decision
from loop.profile import EntityProfile, inspection_kind, record
from schemas.internal import ProfileEvent
from schemas.records import InspectionResult, SourceRecord
from schemas.sources import SOURCE_SPECS

if TYPE_CHECKING:
    from collections.abc import Iterable

    from loop.subject import Subject
    from schemas.scores import ModelScore

PROFILE_KIND = {name: spec.profile_kind for name, spec in SOURCE_SPECS.items() if spec.profile_kind}
"""The sources whose events enter the profile of the enterprise they name, and as what (an
inspection by its outcome: ``inspection_fail`` …): ``SourceSpec.profile_kind``."""


def source_profile_event(
    source: str,
    record_: SourceRecord,
    subject: Subject | None = None,
    scores: Iterable[ModelScore] = (),
) -> ProfileEvent | None:
    """The profile event of a source event, if it names an enterprise that has a profile.

    ``subject``: the name and address the event gave (``loop.subject.subject_of``); ``scores``:
    the models' scores of the event, of which an inspection carries its live, warmed-up
    inspection model's (a cold model's score says little, so none is kept then)."""
    kind = PROFILE_KIND.get(source)
    field = SOURCE_SPECS[source].uscc_field if kind is not None else None
    uscc = getattr(record_, field, None) if field else None
    if kind is None or not uscc:
        return None
    if isinstance(record_, InspectionResult):
        kind = inspection_kind(record_.outcome)
    return ProfileEvent(
        uscc=uscc,
        kind=kind,
        at=record_.event_time,
        ref=record_.event_id,
        region_code=getattr(record_, "region_code", None),
        entity_name=subject.name if subject else None,
        entity_address=subject.address if subject else None,
        model_risk=_model_risk(source, scores),
    )


def _model_risk(source: str, scores: Iterable[ModelScore]) -> float | None:
    """The first live, warmed-up score of an inspection model on an inspection, if any."""
    if source != "inspections":
        return None
    return next(
        (s.score for s in scores if s.source == source and s.mode == "active" and s.warmed_up),
        None,
    )


def apply_profile_event(
    profile: EntityProfile | None, event: ProfileEvent, ctx: Context
) -> Decision[EntityProfile]:
    """The profile with ``event`` added (the same profile when it holds the event already)."""
    new = record(
        profile,
        event.uscc,
        event.kind,
        event.at,
        event.ref,
        config=ctx.config.profile,
        region_code=event.region_code,
        entity_name=event.entity_name,
        entity_address=event.entity_address,
        model_risk=event.model_risk,
    )
    return Decision(new)
