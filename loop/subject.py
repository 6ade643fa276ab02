"""Who, where and what an event is about, as warnings and tasks show it (issue #17).

Staff and departments read a USCC as nothing: a warning carries the enterprise's name and
address and, for complaints, what was reported. Only some sources say so — an inspection result
names the business and its address, a complaint its address and the enterprise it names (if
any); equipment readings and truck fixes carry neither, so their warnings keep the name and
address an earlier inspection or complaint on the same entity gave (``loop.warnings``).

The complaint text is masked again here (mobile and ID numbers, ``schemas.validation.pii``):
the door already masks it, and masking is idempotent, so a record that came round the door
(a re-keyed event, an old changelog) still never shows a number.

>>> from schemas.scores import ModelScore
>>> subject_of("complaints", {"text": "电话13812345678 反映食堂卫生差", "subject": "食堂",
...                           "address": "西湖区文三路1号"})[:3]
(None, '西湖区文三路1号', '食堂：电话138****5678 反映食堂卫生差')
>>> subject_of("equipment", {"uscc": "X"}) is None
True

A complaint the classifier scored is kept as it read it (:func:`scored_complaint`), so a
category correction teaches the classifier that complaint and no other text
(``loop.corrections``):

>>> from datetime import UTC, datetime
>>> c = Complaint(event_id="c1", event_time=datetime(2026, 1, 5, tzinfo=UTC), channel="12345",
...               text="工地夜间施工噪音扰民", category="城乡建设")
>>> s = ModelScore(model="complaint-classifier", version="v1", source="complaints", entity="c1",
...                event_id="c1", event_time=c.event_time, score=0.1, threshold=0.5,
...                alert=False, warmed_up=True, label="城乡建设")
>>> seen = scored_complaint(c, [s])
>>> seen.model, seen.predicted, seen.text
('complaint-classifier', '城乡建设', '工地夜间施工噪音扰民')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import BaseModel, ConfigDict

from schemas.records import Channel, Complaint
from schemas.validation.pii import mask_pii

if TYPE_CHECKING:
    from schemas.scores import ModelScore

MAX_TEXT = 500
"""Characters of complaint text a warning and its task carry (a task is not an archive)."""


class Subject(NamedTuple):
    """What one event says about its entity; None where it says nothing. ``complaint``: the
    complaint as the classifier scored it (:func:`scored_complaint`), for corrections."""

    name: str | None
    address: str | None
    text: str | None
    complaint: ScoredComplaint | None = None


MAX_SCORED_TEXT = 2000
"""Characters of a scored complaint's text a warning keeps: the classifier's default
``max_chars``, which is all it reads."""


class ScoredComplaint(BaseModel):
    """A complaint as the classifier scored it, kept on the warning it raised or joined."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str
    event_time: datetime
    channel: Channel
    subject: str | None = None
    text: str
    category: str | None = None
    """The category the hotline filed it under."""
    model: str
    """The classifier that scored it (the one a correction teaches)."""
    predicted: str | None = None
    """The category the classifier gave it then."""

    def corrected(self, category: str) -> Complaint:
        """This complaint, labelled ``category``: the example the classifier learns."""
        return Complaint(
            event_id=self.event_id,
            event_time=self.event_time,
            channel=self.channel,
            subject=self.subject,
            text=self.text,
            category=category,
        )


def scored_complaint(record: Complaint, scores: Sequence[ModelScore]) -> ScoredComplaint | None:
    """``record`` as the live complaint classifier scored it (the first live score of a
    complaints model: the classifier, whether or not it had a category to give yet), or None
    when none did (no live model)."""
    score = next(
        (
            s
            for s in scores
            if s.source == "complaints" and s.mode != "shadow" and s.event_id == record.event_id
        ),
        None,
    )
    if score is None:
        return None
    return ScoredComplaint(
        event_id=record.event_id,
        event_time=record.event_time,
        channel=record.channel,
        subject=(record.subject or None) and record.subject[:MAX_SCORED_TEXT],
        text=record.text[:MAX_SCORED_TEXT],
        category=record.category,
        model=score.model,
        predicted=score.label,
    )


def subject_of(source: str, event: Any, scores: Sequence[ModelScore] = ()) -> Subject | None:
    """The name, address and (complaints) masked text of ``event``, a record or its dict;
    with the ``scores`` of a complaint record, also the complaint as the classifier read it."""
    if source not in ("inspections", "complaints"):
        return None
    get = event.get if isinstance(event, Mapping) else lambda k: getattr(event, k, None)
    name, address = _clean(get("entity_name")), _clean(get("address"))
    text = None
    if source == "complaints":
        body = " ".join(str(get("text") or "").split())
        subject = _clean(get("subject"))
        text = mask_pii(f"{subject}：{body}" if subject else body)[:MAX_TEXT] or None
    if name is None and address is None and text is None:
        return None
    scored = scored_complaint(event, scores) if isinstance(event, Complaint) else None
    return Subject(name, address, text, scored)


def _clean(value: object) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None
