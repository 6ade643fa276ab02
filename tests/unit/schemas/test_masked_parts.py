"""``masked_record`` keeps the masked form of a frozen record inside a record, by identity
(schemas/validation/pii.py ``_masked_part``): an alert's reasons, evidence records and notices
are the same objects in every alert of a warning. What it must not do: answer for another
view, for a record that can change (not frozen), or grow without bound."""

from __future__ import annotations

import weakref
from datetime import UTC, datetime

from pydantic import BaseModel

import schemas.validation.pii as pii
from schemas.records import Alert, AlertState, EvidenceRecord, Level, Reason
from schemas.validation.pii import masked_record, masked_record_via_json

T = datetime(2026, 6, 1, tzinfo=UTC)


def _alert(reason: Reason, record: EvidenceRecord, n: int = 1) -> Alert:
    return Alert(
        alert_id=f"A.{n}",
        fingerprint="F",
        state=AlertState.updated,
        level=Level.yellow,
        source="complaints",
        entity="E",
        item_code="I",
        title="t",
        first_seen=T,
        last_seen=T,
        occurrences=n,
        reasons=[reason],
        evidence_records=[record],
    )


def test_a_shared_part_is_masked_once_and_masked_right_in_every_alert() -> None:
    reason = Reason(kind="rule", id="r", version="1", values={"note": "电话13812345678"})
    record = EvidenceRecord(
        event_id="e", event_time=T, source="complaints", values={"address": "文三路90号"}
    )
    first = masked_record("masked", _alert(reason, record, 1))
    second = masked_record("masked", _alert(reason, record, 2))
    assert first.reasons[0].values == {"note": "电话138****5678"}
    assert first.evidence_records[0].values == {"address": "文三路**号"}
    assert second.reasons[0] is first.reasons[0]  # asked again: the kept answer
    assert second == masked_record_via_json("masked", _alert(reason, record, 2))


def test_the_kept_answer_is_per_view() -> None:
    record = EvidenceRecord(
        event_id="e", event_time=T, source="complaints", values={"address": "文三路90号"}
    )
    reason = Reason(kind="rule", id="r", version="1")
    masked = masked_record("masked", _alert(reason, record))
    full = masked_record("full", _alert(reason, record))
    assert masked.evidence_records[0].values == {"address": "文三路**号"}
    assert full.evidence_records[0].values == {"address": "文三路90号"}


class _Inner(BaseModel):
    text: str


class _Outer(BaseModel):
    inner: _Inner


def test_a_part_that_can_change_is_masked_afresh() -> None:
    inner = _Inner(text="无号码")
    outer = _Outer(inner=inner)
    assert masked_record("masked", outer).inner.text == "无号码"
    inner.text = "电话13812345678"  # not frozen: the same object now says something else
    assert masked_record("masked", outer).inner.text == "电话138****5678"


def test_the_kept_answers_are_bounded() -> None:
    for n in range(pii.MASKED_PARTS + 50):
        reason = Reason(kind="rule", id=f"r{n}", version="1", values={"n": str(n)})
        masked_record(
            "masked", _alert(reason, EvidenceRecord(event_id="e", event_time=T, source="s"))
        )
    assert len(pii._MASKED_PARTS) <= pii.MASKED_PARTS


def test_a_kept_answer_goes_with_its_record() -> None:
    """Kept by identity, the answer for a record that is gone can never be asked for again;
    holding the record kept a cold warning's evidence alive in every worker (issue #16)."""
    reason = Reason(kind="rule", id="gone", version="1", values={"note": "电话13812345678"})
    record = EvidenceRecord(event_id="e", event_time=T, source="s", values={"k": "无号码"})
    masked_record("masked", _alert(reason, record))
    keys = {("masked", id(reason)), ("masked", id(record))}
    assert keys <= pii._MASKED_PARTS.keys()
    reason_alive, record_alive = weakref.ref(reason), weakref.ref(record)
    del reason, record
    assert reason_alive() is None  # changed by masking: the entry held it and its copy
    assert record_alive() is None  # unchanged: the entry's answer is the record itself
    assert not keys & pii._MASKED_PARTS.keys()
