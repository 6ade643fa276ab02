"""Internal messages are records of the data standard, and the format before still reads.

A worker upgraded while messages of the old format are in flight on its internal topics (a
whole ``TaskCase`` on ``riskloop.feedback``, ``b"tick"`` and ``{"clocks": …}`` on
``riskloop.ticks``) must read them as the new records (for one release).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from loop.closed_loop import close_loop, feedback_record
from schemas.codecs import decode_record, encode_record
from schemas.internal import ProfileEvent, TaskFeedback, Tick, TickKind, read_feedback, read_tick
from schemas.record_specs import RECORDS
from schemas.records import DispositionResult

from .conftest import T0, USCC
from .test_feedback import disposed

if TYPE_CHECKING:
    from collections.abc import Callable

    from loop.loop_config import LoopConfig
    from schemas.hits import RuleHit
    from schemas.scores import ModelScore


def test_internal_messages_have_a_schema() -> None:
    models = {spec.model for spec in RECORDS.values()}
    assert {TaskFeedback, ProfileEvent, Tick} <= models


def test_a_whole_task_case_on_the_feedback_topic_still_reads(
    make_hit: Callable[..., RuleHit], make_score: Callable[..., ModelScore], config: LoopConfig
) -> None:
    case, warnings = disposed(make_hit, make_score, config, DispositionResult.false_alarm)
    old = case.model_dump_json().encode()  # what a worker before this release sent
    new = feedback_record(case).model_dump_json().encode()
    assert len(new) < len(old) / 2, "the new record is not the task's whole working file"
    assert read_feedback(old) == read_feedback(new) == feedback_record(case)
    fed = read_feedback(old)
    assert (fed.result, fed.uscc, fed.entity) == (DispositionResult.false_alarm, USCC, USCC)
    # both teach the same: the record and the case close the loop alike
    by_case = close_loop(case, warnings, None, None, now=T0, config=config)
    by_record = close_loop(fed, warnings, None, None, now=T0, config=config)
    assert by_record.counters == by_case.counters
    assert by_record.alerts == by_case.alerts
    assert by_record.feedback == by_case.feedback


def test_a_feedback_record_travels_as_avro_too(
    make_hit: Callable[..., RuleHit], make_score: Callable[..., ModelScore], config: LoopConfig
) -> None:
    case, _ = disposed(make_hit, make_score, config, DispositionResult.confirmed)
    record = feedback_record(case)
    assert decode_record(encode_record(record, "avro"), TaskFeedback) == record


@pytest.mark.parametrize("raw", [b"", b"{}", b'{"task": {}}', b"\xff\xfe", b"[1, 2]"])
def test_what_is_no_feedback_is_refused_with_a_reason(raw: bytes) -> None:
    with pytest.raises(ValueError, match="not a feedback record"):
        read_feedback(raw)


def test_ticks_old_and_new() -> None:
    assert read_tick(b"tick") == Tick(kind=TickKind.wall)
    assert read_tick(b'{"clocks": {"trucks": 2}}') == Tick(
        kind=TickKind.clock, clocks={"trucks": 2.0}
    )
    new = Tick(kind=TickKind.clock, clocks={"equipment": 1.5})
    assert read_tick(new.model_dump_json().encode()) == new
    with pytest.raises(ValueError, match="not a tick"):
        read_tick(b"tock")
