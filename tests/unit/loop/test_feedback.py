from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from loop.closed_loop import close_loop, feedback_for, precision, recurrence
from loop.errors import InvalidTransition
from loop.state_machine import apply, open_task
from loop.warnings import EntityWarnings, fold
from schemas.hits import RuleHit
from schemas.labels import label_of
from schemas.records import AlertState, DispositionResult
from schemas.records import DispositionAction as A
from schemas.scores import ModelScore

from .conftest import ROUTING, T0, USCC, disposition

if TYPE_CHECKING:
    from loop.loop_config import LoopConfig
    from loop.task_opening import TaskCase

Hit = Callable[..., RuleHit]
Score = Callable[..., ModelScore]


def disposed(
    make_hit: Callable[..., RuleHit],
    make_score: Callable[..., ModelScore],
    config: LoopConfig,
    result: DispositionResult,
    state: EntityWarnings | None = None,
    at: timedelta = timedelta(0),
) -> tuple[TaskCase, EntityWarnings]:
    state, (alert,) = fold(state, make_hit(event_time=T0 + at), T0 + at, config)
    state, _ = fold(state, make_score(event_id=f"m-{at}"), T0 + at, config)
    case, _ = open_task(alert, state.warnings[alert.fingerprint].template, ROUTING, config, T0 + at)
    dept = case.task.department
    for n, (action, extra) in enumerate(
        [(A.sign, {}), (A.start, {}), (A.dispose, {"result": result, "evidence": ["photo:1"]})]
    ):
        case, _ = apply(
            case,
            disposition(case.task_id, action, dept, n, at=T0 + at + timedelta(minutes=n), **extra),
            config,
        )
    return case, state


def test_labels_carry_the_models_features(
    make_hit: Hit, make_score: Score, config: LoopConfig
) -> None:
    case, state = disposed(make_hit, make_score, config, DispositionResult.confirmed)
    fb = feedback_for(case, state.warnings[case.task.fingerprint])
    (label,) = fb.labels
    assert (label.model, label.version, label.label) == ("hst_inspections", "3", True)
    assert label.features == {"critical_count": 1.0, "score": 55.0}
    assert fb.rules == ["food/failed_inspection"]


def test_not_found_teaches_nothing() -> None:
    assert label_of(DispositionResult.not_found) is None
    assert label_of(DispositionResult.rectification) is True
    assert label_of(DispositionResult.false_alarm) is False


def test_feedback_needs_a_disposed_task(make_hit: Hit, config: LoopConfig) -> None:
    state, (alert,) = fold(None, make_hit(), T0, config)
    case, _ = open_task(alert, None, ROUTING, config, T0)
    with pytest.raises(InvalidTransition, match="disposed or closed"):
        feedback_for(case, state.warnings[alert.fingerprint])


def test_close_loop_updates_warning_precision_and_profile(
    make_hit: Hit, make_score: Score, config: LoopConfig
) -> None:
    case, state = disposed(make_hit, make_score, config, DispositionResult.false_alarm)
    out = close_loop(case, state, None, None, now=T0 + timedelta(hours=1), config=config)
    fb, state, (alert,), counters, profile = (
        out.feedback,
        out.warnings,
        out.alerts,
        out.counters,
        out.profile,
    )
    assert alert.state is AlertState.false_alarm
    assert fb.label is False
    assert counters == {"food/failed_inspection": {"confirmed": 0, "false_alarm": 1}}
    assert precision(counters["food/failed_inspection"]) == 0.0
    assert profile is not None
    assert profile.uscc == USCC
    assert profile.counts == {"disposition": 1}
    case2, state = disposed(
        make_hit, make_score, config, DispositionResult.confirmed, state, timedelta(days=40)
    )
    counters = close_loop(
        case2, state, counters, profile, now=T0 + timedelta(days=41), config=config
    ).counters
    assert precision(counters["food/failed_inspection"]) == 0.5


def test_recurrence_within_window_links_to_the_closed_task(
    make_hit: Hit, make_score: Score, config: LoopConfig
) -> None:
    case, state = disposed(make_hit, make_score, config, DispositionResult.confirmed)
    closed_at = T0 + timedelta(hours=1)
    state = close_loop(case, state, None, None, now=closed_at, config=config).warnings
    state, (back,) = fold(
        state, make_hit(event_time=T0 + timedelta(days=3)), T0 + timedelta(days=3), config
    )
    warning = state.warnings[back.fingerprint]
    rec = recurrence(warning, T0 + timedelta(days=3), config)
    assert rec is not None
    assert rec.previous_task_id == case.task_id
    assert rec.department == case.task.department
    new_case, events = open_task(
        back, warning.template, ROUTING, config, T0 + timedelta(days=3), recurrence=rec
    )
    assert new_case.task_id != case.task_id
    assert new_case.task.previous_task_id == case.task_id
    assert events[0].reason == f"recurrence of {case.task_id}"
    assert recurrence(warning, closed_at + timedelta(days=31), config) is None


def test_first_epoch_is_no_recurrence(make_hit: Hit, config: LoopConfig) -> None:
    state, (alert,) = fold(None, make_hit(), T0, config)
    assert recurrence(state.warnings[alert.fingerprint], T0, config) is None


def test_a_reopened_task_disposed_again_feeds_back_once(
    make_hit: Hit, make_score: Score, config: LoopConfig
) -> None:
    """The first disposal is the one fed back (loop/closed_loop.py): a reopening and a second
    disposal count no second precision label and teach the model nothing more."""
    case, state = disposed(make_hit, make_score, config, DispositionResult.false_alarm)
    first = close_loop(case, state, None, None, now=T0 + timedelta(hours=1), config=config)
    assert first.feedback.labels
    assert not first.repeated
    dept = case.task.department
    steps = [
        (A.reopen, config.centre, {"reason": "evidence does not show the premises"}),
        (A.sign, dept, {}),
        (A.start, dept, {}),
        (A.dispose, dept, {"result": DispositionResult.confirmed, "evidence": ["photo:2"]}),
    ]
    for n, (action, who, extra) in enumerate(steps, start=10):
        at = T0 + timedelta(hours=2, minutes=n)
        case, _ = apply(case, disposition(case.task_id, action, who, n, at=at, **extra), config)
    again = close_loop(
        case,
        first.warnings,
        first.counters,
        first.profile,
        now=T0 + timedelta(hours=3),
        config=config,
    )
    assert again.repeated
    assert again.alerts == []
    assert again.feedback.labels == []
    assert again.feedback.rules == []
    assert again.counters == {"food/failed_inspection": {"confirmed": 0, "false_alarm": 1}}
    assert again.profile == first.profile
    assert again.warnings == first.warnings


def test_a_feedback_record_sent_twice_counts_once(
    make_hit: Hit, make_score: Score, config: LoopConfig
) -> None:
    case, state = disposed(make_hit, make_score, config, DispositionResult.confirmed)
    first = close_loop(case, state, None, None, now=T0 + timedelta(hours=1), config=config)
    twice = close_loop(
        case,
        first.warnings,
        first.counters,
        first.profile,
        now=T0 + timedelta(hours=1),
        config=config,
    )
    assert twice.repeated
    assert twice.feedback.labels == []
    assert twice.counters == {"food/failed_inspection": {"confirmed": 1, "false_alarm": 0}}


def test_fed_back_tasks_outlive_the_epoch(make_hit: Hit, config: LoopConfig) -> None:
    """A task of an ended epoch reopened after the warning came back is still known."""
    state, (alert,) = fold(None, make_hit(), T0, config)
    w = state.warnings[alert.fingerprint]
    w.status, w.fed_back = "resolved", ["task-1"]
    state, (back,) = fold(
        state, make_hit(event_time=T0 + timedelta(days=3)), T0 + timedelta(days=3), config
    )
    assert back.alert_id != alert.alert_id
    assert state.warnings[back.fingerprint].fed_back == ["task-1"]
