"""Category corrections (loop/corrections.py, issue #18): a disposal that corrects a complaint's
category is checked against the taxonomy, recorded on the task's audit row and the warning's
evidence, and becomes one labelled example — built from the complaint the classifier scored,
never from the correction message — once per correcting disposition."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from loop.closed_loop import feedback_record
from loop.decide import Context
from loop.decide.feedback import FeedbackState, on_feedback
from loop.decide.tasks import on_disposition
from loop.state_machine import apply, open_task
from loop.subject import Subject, scored_complaint
from loop.warnings import EntityWarnings, fold
from schemas.hits import RuleHit
from schemas.records import Complaint, VerdictOutcome
from schemas.records import DispositionAction as A
from schemas.records import DispositionResult as R
from schemas.scores import ModelScore

from .conftest import ROUTING, T0, USCC, disposition

if TYPE_CHECKING:
    from loop.loop_config import LoopConfig
    from loop.task_opening import TaskCase

Hit = Callable[..., RuleHit]
Score = Callable[..., ModelScore]
TEXT = "小区旁工厂夜里排放黑烟，刺鼻气味，河里的鱼都死了"


def complaint(event_id: str = "c-1") -> Complaint:
    return Complaint(
        event_id=event_id,
        event_time=T0,
        channel="12345",
        subject="工厂排污",
        text=TEXT,
        category="城乡建设",
        uscc=USCC,
        region_code="330106",
    )


def warned(
    make_hit: Hit, make_score: Score, config: LoopConfig, *, scored: bool = True
) -> tuple[TaskCase, EntityWarnings]:
    """A complaint the classifier scored (``scored``) raised a warning; its task is opened
    and signed and started by the department holding it."""
    record = complaint()
    score = make_score(
        model="complaint-classifier",
        source="complaints",
        event_id=record.event_id,
        alert=False,
        label="城乡建设",
        features={"1:烟": 1.0},
    )
    seen = scored_complaint(record, [score] if scored else [])
    subject = Subject(None, "西湖区文三路1号", f"工厂排污：{TEXT}", seen)
    hit = make_hit(
        source="complaints", rule_id="pollution", item_code="ENV-001", event_id=record.event_id
    )
    state, (alert,) = fold(None, hit, T0, config, subject=subject)
    case, _ = open_task(alert, state.warnings[alert.fingerprint].template, ROUTING, config, T0)
    for n, action in enumerate([A.sign, A.start]):
        case, _ = apply(case, disposition(case.task_id, action, case.task.department, n), config)
    return case, state


def dispose(case: TaskCase, config: LoopConfig, n: int = 5, **over: object) -> TaskCase:
    d = disposition(
        case.task_id,
        A.dispose,
        case.task.department,
        n,
        result=R.confirmed,
        evidence=["photo:1"],
        **over,
    )
    after, _ = apply(case, d, config)
    return after


def ctx(config: LoopConfig) -> Context:
    return Context(config=config, now=T0 + timedelta(hours=1), routing=ROUTING)


def test_a_correction_teaches_the_scored_complaint_once(
    make_hit: Hit, make_score: Score, config: LoopConfig
) -> None:
    case, warnings = warned(make_hit, make_score, config)
    done = dispose(case, config, category="环境保护")
    fed = feedback_record(done)
    assert (fed.category, fed.correction_id) == ("环境保护", "d-5")

    first = on_feedback(FeedbackState(warnings), fed, ctx(config))
    assert first.note == "fed_back"
    assert first.corrected == "corrected"
    example = first.correction
    assert example is not None
    assert example.model == "complaint-classifier"
    # the complaint as the classifier read it, labelled with the correction
    assert (example.example.text, example.example.subject) == (TEXT, "工厂排污")
    assert (example.example.category, example.was) == ("环境保护", "城乡建设")
    # the warning's evidence shows the corrected category, and who corrected it
    assert first.state is not None
    assert first.state.warnings is not None
    (w,) = first.state.warnings.warnings.values()
    (brief,) = w.evidence_records
    assert brief.values["category"].startswith("环境保护")
    assert "城乡建设" in brief.values["category"]
    # ... and so does the warning's record published as the disposal ends it (to SQL)
    assert first.alerts
    assert "category" in first.alerts[-1].evidence_records[0].values

    again = on_feedback(first.state, fed, ctx(config))  # the feedback message redelivered
    assert again.correction is None
    assert again.corrected == "repeated"


def test_a_correction_on_a_second_disposal_teaches_its_own_category(
    make_hit: Hit, make_score: Score, config: LoopConfig
) -> None:
    case, warnings = warned(make_hit, make_score, config)
    first = on_feedback(
        FeedbackState(warnings), feedback_record(dispose(case, config)), ctx(config)
    )
    assert first.corrected == "no_correction"
    assert first.correction is None
    reopen = disposition(case.task_id, A.reopen, config.centre, 6, reason="分类有误")
    reopened, _ = apply(dispose(case, config), reopen, config)
    for n, action in enumerate([A.sign, A.start], start=7):
        reopened, _ = apply(
            reopened, disposition(case.task_id, action, case.task.department, n), config
        )
    again = dispose(reopened, config, n=9, category="环境保护")
    second = on_feedback(first.state, feedback_record(again), ctx(config))
    # one task, one label: the label was fed back already; the correction is new and teaches
    assert second.note == "repeated"
    assert second.corrected == "corrected"
    assert second.correction is not None
    assert second.correction.correction_id == "d-9"


def test_a_warning_without_a_scored_complaint_records_but_teaches_nothing(
    make_hit: Hit, make_score: Score, config: LoopConfig
) -> None:
    case, warnings = warned(make_hit, make_score, config, scored=False)
    decision = on_feedback(
        FeedbackState(warnings),
        feedback_record(dispose(case, config, category="环境保护")),
        ctx(config),
    )
    assert decision.corrected == "not_scored"
    assert decision.correction is None
    assert decision.state is not None
    assert decision.state.warnings is not None
    (w,) = decision.state.warnings.warnings.values()
    assert w.corrections == ["d-5"]


def test_the_audit_row_records_the_correction(
    make_hit: Hit, make_score: Score, config: LoopConfig
) -> None:
    case, _ = warned(make_hit, make_score, config)
    d = disposition(
        case.task_id,
        A.dispose,
        case.task.department,
        5,
        result=R.confirmed,
        evidence=["photo:1"],
        category=" 环境保护 ",
    )
    decision = on_disposition(case, d, ctx(config))
    assert decision.verdict is not None
    assert decision.verdict.outcome is VerdictOutcome.applied
    (event,) = decision.events
    assert event.reason == "confirmed; complaint category corrected to 环境保护"


@pytest.mark.parametrize(
    ("category", "words"),
    [
        ("食品安全", "食品安全 is a sub-category of 卫生计生; send 卫生计生"),
        ("food", "unknown category 'food'; the categories: 交通运输, 党务政务"),
        ("", "unknown category 'an empty name'"),
    ],
)
def test_a_category_outside_the_taxonomy_is_refused_and_changes_nothing(
    make_hit: Hit, make_score: Score, config: LoopConfig, category: str, words: str
) -> None:
    case, _ = warned(make_hit, make_score, config)
    d = disposition(
        case.task_id,
        A.dispose,
        case.task.department,
        5,
        result=R.confirmed,
        evidence=["photo:1"],
        category=category,
    )
    decision = on_disposition(case, d, ctx(config))
    verdict = decision.verdict
    assert verdict is not None
    assert verdict.outcome is VerdictOutcome.refused
    assert verdict.reason == "bad_category"
    assert words in (verdict.message or "")
    assert decision.state is case
    assert [m.role for m in decision.messages] == ["verdicts"]


def test_a_category_with_another_action_or_task_is_refused(
    make_hit: Hit, make_score: Score, config: LoopConfig
) -> None:
    case, _ = warned(make_hit, make_score, config)
    extend = disposition(case.task_id, A.reopen, config.centre, 5, reason="x", category="环境保护")
    refused = on_disposition(dispose(case, config, n=4), extend, ctx(config)).verdict
    assert refused is not None
    assert refused.reason == "bad_category"
    assert "goes with dispose, not reopen" in (refused.message or "")
    # a task that is not about a complaint has no category to correct
    inspection = case.model_copy(
        update={"task": case.task.model_copy(update={"complaint_text": None})}
    )
    d = disposition(
        case.task_id,
        A.dispose,
        case.task.department,
        6,
        result=R.confirmed,
        evidence=["photo:1"],
        category="环境保护",
    )
    verdict = on_disposition(inspection, d, ctx(config)).verdict
    assert verdict is not None
    assert verdict.reason == "bad_category"
    assert "not about a complaint" in (verdict.message or "")
