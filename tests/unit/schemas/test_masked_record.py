"""``masked_record``'s walk (schemas/validation/pii.py) against the JSON round trip it replaced
(``masked_record_via_json``: dump, mask every string, validate back): the same record, field
for field and byte for byte as JSON, for any alert — and the round trip itself wherever the
walk cannot prove that."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, field_validator

import schemas.validation.pii as pii
from schemas.records import Alert, AlertChange, AlertState, EvidenceRecord, Level, Reason
from schemas.validation.pii import masked_record, masked_record_via_json

PROPS = settings(max_examples=300, deadline=None)

# digits, separators and letters enough to make phones, IDs, cards, e-mails and house numbers
TEXT = st.one_of(
    st.text(alphabet="0123456789 -+()Xx@.ab中号栋室，", max_size=40),
    st.sampled_from(
        [
            "13812345678",
            "电话 138-1234-5678",
            "zhang.san@example.cn",
            "文三路90号3幢2单元501室",
            "110101199003071234",
            "4111111111111111",
            "log_nearby=1.3862943611198906",
            "欧阳娜娜",
            "",
        ]
    ),
)
KEYS = st.sampled_from(
    [
        "text",
        "address",
        "entity_address",
        "complainant_name",
        "complainant_phone",
        "complainant_id",
        "contact",
        "event_id",
        "plate",
        "uscc",
        "readings",
        "values",
    ]
)
VALUES = st.dictionaries(KEYS, TEXT, max_size=6)
TIMES = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
)
REASONS = st.builds(
    Reason,
    kind=st.sampled_from(["rule", "model", "fence"]),
    id=TEXT,
    version=TEXT,
    content_hash=TEXT,
    pack=st.none() | TEXT,
    score=st.floats(allow_nan=False, allow_infinity=False),
    values=VALUES,
)
EVIDENCE = st.builds(
    EvidenceRecord, event_id=TEXT, event_time=TIMES, source=TEXT, reason=TEXT, values=VALUES
)
HISTORY = st.builds(
    AlertChange,
    at=TIMES,
    state=st.sampled_from(AlertState),
    level=st.sampled_from(Level),
    changes=st.lists(TEXT, max_size=3),
)
ALERTS = st.builds(
    Alert,
    alert_id=TEXT,
    fingerprint=TEXT,
    state=st.sampled_from(AlertState),
    level=st.sampled_from(Level),
    source=TEXT,
    entity=TEXT,
    item_code=TEXT,
    title=TEXT,
    region_code=st.none() | TEXT,
    uscc=st.none() | TEXT,
    first_seen=TIMES,
    last_seen=TIMES,
    evidence=st.lists(TEXT, max_size=3),
    reasons=st.lists(REASONS, max_size=3),
    suppressed_by=st.none() | TEXT,
    correlation_id=TEXT,
    changes=st.lists(TEXT, max_size=3),
    case_task_id=st.none() | TEXT,
    entity_name=st.none() | TEXT,
    entity_address=st.none() | TEXT,
    complaint_text=st.none() | TEXT,
    evidence_records=st.lists(EVIDENCE, max_size=5),
    history=st.lists(HISTORY, max_size=4),
)


def _same(fast: BaseModel, slow: BaseModel) -> None:
    assert type(fast) is type(slow)
    assert fast == slow
    assert fast.model_dump_json() == slow.model_dump_json()


@PROPS
@given(ALERTS, st.sampled_from(["masked", "full"]))
def test_an_alert_is_masked_as_its_json_round_trip(alert: Alert, view: pii.View) -> None:
    _same(masked_record(view, alert), masked_record_via_json(view, alert))
    _same(masked_record(view, alert), masked_record_via_json(view, alert))  # caches warm


def test_only_what_masking_changes_is_copied() -> None:
    t = datetime(2026, 6, 1, tzinfo=UTC)
    kept = EvidenceRecord(event_id="e1", event_time=t, source="equipment", values={"v": "3.5"})
    touched = EvidenceRecord(
        event_id="e2", event_time=t, source="complaints", values={"text": "电话13812345678"}
    )
    alert = Alert(
        alert_id="A",
        fingerprint="F",
        state="new",
        level="red",
        source="complaints",
        entity="E",
        item_code="I",
        title="t",
        first_seen=t,
        last_seen=t,
        evidence_records=[kept, touched],
    )
    shown = masked_record("masked", alert)
    assert shown is not alert
    assert alert.evidence_records[1].values["text"] == "电话13812345678"
    assert shown.evidence_records[0] is kept
    assert shown.evidence_records[1].values == {"text": "电话138****5678"}
    _same(shown, masked_record_via_json("masked", alert))


def test_a_cached_dict_is_not_changed_by_a_caller() -> None:
    """The content cache of string dicts hands each caller a dict of its own."""
    t = datetime(2026, 6, 1, tzinfo=UTC)
    record = EvidenceRecord(event_id="e", event_time=t, source="s", values={"t": "13812345678"})
    first = masked_record("masked", record)
    first.values["t"] = "changed by a caller"
    assert masked_record("masked", record).values == {"t": "138****5678"}
    assert pii._masked_items.cache_info().maxsize == pii.MASKED_DICTS


class _Checked(BaseModel):
    text: str

    @field_validator("text")
    @classmethod
    def _no_stars(cls, v: str) -> str:
        if "*" in v:
            raise ValueError("stars")
        return v


class _Constrained(BaseModel):
    text: str = Field(max_length=40)
    when: timedelta = timedelta(0)


def test_what_the_walk_cannot_prove_goes_the_json_way() -> None:
    """A validator, a constraint or a type the walk does not know: the round trip decides,
    refusal included."""
    assert masked_record("masked", _Constrained(text="13812345678")).text == "138****5678"
    assert pii._plan(_Constrained) is None
    assert pii._plan(_Checked) is None
    with pytest.raises(ValueError, match="stars"):  # the validator was not skipped
        masked_record("masked", _Checked(text="13812345678"))


def test_a_non_finite_score_goes_the_json_way() -> None:
    """JSON has no NaN: the walk leaves the float to the round trip, which turns it to null
    and refuses it, as before."""
    reason = Reason(kind="model", id="m", version="1", score=math.nan)
    try:
        masked = masked_record("masked", reason)
    except ValueError:
        masked = None
    try:
        expected = masked_record_via_json("masked", reason)
    except ValueError:
        expected = None
    assert (masked is None) == (expected is None)
