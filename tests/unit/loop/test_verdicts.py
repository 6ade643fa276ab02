"""A verdict for every disposition: applied, duplicate (a retry) or refused with its reason."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from loop.state_machine import open_task
from loop.verdicts import HTTP_STATUS, idempotent_event_id, judge
from loop.warnings import fold
from schemas.records import DispositionAction as A
from schemas.records import Level, TaskState, VerdictOutcome

from .conftest import ROUTING, T0, disposition

if TYPE_CHECKING:
    from collections.abc import Callable

    from loop.loop_config import LoopConfig
    from loop.task_opening import TaskCase
    from schemas.hits import RuleHit


@pytest.fixture
def case(make_hit: Callable[..., RuleHit], config: LoopConfig) -> TaskCase:
    state, (alert,) = fold(None, make_hit(level=Level.orange), T0, config)
    case, _ = open_task(alert, state.warnings[alert.fingerprint].template, ROUTING, config, T0)
    return case


def test_an_applied_disposition_says_where_the_task_is(case: TaskCase, config: LoopConfig) -> None:
    d = disposition(case.task_id, A.sign, case.task.department, 1)
    new, events, verdict = judge(case, d, config, T0)
    assert verdict.outcome is VerdictOutcome.applied
    assert verdict.state is TaskState.signed
    assert new is not None
    assert verdict.department == case.task.department
    assert [e.to_state for e in events] == [TaskState.signed]
    assert verdict.event_id == d.event_id
    assert verdict.reason is None


def test_a_retry_with_the_same_event_id_applies_once(case: TaskCase, config: LoopConfig) -> None:
    d = disposition(case.task_id, A.sign, case.task.department, 1)
    once, _, _ = judge(case, d, config, T0)
    assert once is not None
    twice, events, verdict = judge(once, d, config, T0)
    assert verdict.outcome is VerdictOutcome.duplicate
    assert events == []
    assert twice == once
    assert verdict.state is TaskState.signed


@pytest.mark.parametrize(
    ("action", "who", "reason", "status"),
    [
        (A.sign, "somebody_else", "wrong_department", 409),
        (A.dispose, None, "invalid_transition", 409),  # before sign and start
        (A.close, "risk_centre", "invalid_transition", 409),
    ],
)
def test_a_refusal_names_its_reason_and_changes_nothing(
    case: TaskCase, config: LoopConfig, action: A, who: str | None, reason: str, status: int
) -> None:
    d = disposition(case.task_id, action, who or case.task.department, 1)
    same, events, verdict = judge(case, d, config, T0)
    assert verdict.outcome is VerdictOutcome.refused
    assert verdict.reason == reason
    assert verdict.message
    assert HTTP_STATUS[reason] == status
    assert same is case
    assert events == []
    assert verdict.state is TaskState.dispatched


def test_an_unknown_task_is_a_404_with_no_state(config: LoopConfig) -> None:
    _, _, verdict = judge(None, disposition("task-nope", A.sign, "hz_market", 1), config, T0)
    assert verdict.outcome is VerdictOutcome.refused
    assert verdict.reason == "unknown_task"
    assert HTTP_STATUS["unknown_task"] == 404
    assert verdict.state is None
    assert verdict.department is None


def test_a_disposal_without_evidence_is_unprocessable(case: TaskCase, config: LoopConfig) -> None:
    dept = case.task.department
    for n, action in enumerate((A.sign, A.start)):
        case, _, _ = judge(case, disposition(case.task_id, action, dept, n), config, T0)  # type: ignore[assignment]
    _, _, verdict = judge(case, disposition(case.task_id, A.dispose, dept, 9), config, T0)
    assert verdict.reason == "missing_evidence"
    assert HTTP_STATUS["missing_evidence"] == 422


def test_idempotent_event_ids_depend_on_task_key_and_kind() -> None:
    one = idempotent_event_id("task-1", "k")
    assert one == idempotent_event_id("task-1", "k")
    assert one != idempotent_event_id("task-1", "k2")
    assert one != idempotent_event_id("task-1", "k", "assign")
    assert one.startswith("disp-idem-")
    assert len(one) <= 128


def test_a_repeat_the_door_dropped_is_answered_not_applied(
    case: TaskCase, config: LoopConfig
) -> None:
    from loop.verdicts import repeated

    d = disposition(case.task_id, A.sign, case.task.department, 1)
    signed, _, _ = judge(case, d, config, T0)
    assert repeated(signed, d, config, T0).outcome is VerdictOutcome.duplicate
    # even when the state never recorded it, a repeat is not applied: it says duplicate
    assert repeated(case, d, config, T0).outcome is VerdictOutcome.duplicate
    wrong = disposition(case.task_id, A.sign, "somebody_else", 2)
    assert repeated(case, wrong, config, T0).reason == "wrong_department"
