from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from loop.errors import (
    InvalidTransition,
    MissingEvidence,
    MissingReason,
    UnknownTask,
    WrongDepartment,
)
from loop.loop_config import LoopConfig
from loop.state_machine import apply, open_task
from loop.task_opening import TaskCase
from loop.warnings import fold
from schemas.records import DispositionAction as A
from schemas.records import DispositionResult, Level, TaskState

from .conftest import ROUTING, T0, disposition

if TYPE_CHECKING:
    from collections.abc import Callable

    from schemas.hits import RuleHit


@pytest.fixture
def case(make_hit: Callable[..., RuleHit], config: LoopConfig) -> TaskCase:
    state, (alert,) = fold(None, make_hit(level=Level.orange), T0, config)
    case, events = open_task(alert, state.warnings[alert.fingerprint].template, ROUTING, config, T0)
    assert [(e.from_state, e.to_state) for e in events] == [
        (None, TaskState.created),
        (TaskState.created, TaskState.dispatched),
    ]
    return case


def run(case: TaskCase, config: LoopConfig, *steps: tuple[A, str, dict[str, object]]) -> TaskCase:
    for n, (action, dept, extra) in enumerate(steps, start=100 + case.event_count):
        case, _ = apply(case, disposition(case.task_id, action, dept, n, **extra), config)
    return case


DISPOSE: dict[str, object] = {"result": DispositionResult.confirmed, "evidence": ["photo:1.jpg"]}


def test_happy_path_to_closed(case: TaskCase, config: LoopConfig) -> None:
    dept = case.task.department
    steps: list[tuple[A, str, dict[str, object]]] = [
        (A.sign, dept, {}),
        (A.start, dept, {}),
        (A.dispose, dept, DISPOSE),
        (A.close, "risk_centre", {"reason": "evidence checked"}),
    ]
    events = []
    for n, (action, who, extra) in enumerate(steps):
        case, new_events = apply(case, disposition(case.task_id, action, who, n, **extra), config)
        events += new_events
    assert [e.to_state for e in events] == [
        TaskState.signed,
        TaskState.in_progress,
        TaskState.disposed,
        TaskState.closed,
    ]
    assert events[2].reason == "confirmed"
    assert events[0].actor == f"officer-{dept}"
    assert case.result is DispositionResult.confirmed
    assert case.evidence == ["photo:1.jpg"]
    assert case.task.state is TaskState.closed
    assert case.closed_at is not None
    assert len({e.event_id for e in events}) == 4
    assert TaskCase.model_validate_json(case.model_dump_json()) == case


def test_same_disposition_twice_changes_nothing(case: TaskCase, config: LoopConfig) -> None:
    d = disposition(case.task_id, A.sign, case.task.department, 1)
    once, events = apply(case, d, config)
    twice, again = apply(once, d, config)
    assert events
    assert again == []
    assert twice == once
    # Replaying against the earlier state yields the same event ids (idempotent sinks).
    assert apply(case, d, config)[1] == events


def test_unknown_task(case: TaskCase, config: LoopConfig) -> None:
    with pytest.raises(UnknownTask) as err:
        apply(None, disposition("task-nope", A.sign, "x", 1), config)
    assert err.value.reason == "unknown_task"
    with pytest.raises(UnknownTask):
        apply(case, disposition("task-other", A.sign, case.task.department, 1), config)


def test_wrong_department(case: TaskCase, config: LoopConfig) -> None:
    with pytest.raises(WrongDepartment, match="must come from xihu_market") as err:
        apply(case, disposition(case.task_id, A.sign, "hz_market", 1), config)
    assert err.value.reason == "wrong_department"
    with pytest.raises(WrongDepartment, match="risk_centre"):
        apply(case, disposition(case.task_id, A.close, case.task.department, 1), config)


@pytest.mark.parametrize("action", [A.start, A.dispose, A.close])
def test_invalid_transitions(case: TaskCase, config: LoopConfig, action: A) -> None:
    who = "risk_centre" if action is A.close else case.task.department
    with pytest.raises(InvalidTransition, match="cannot .* dispatched") as err:
        apply(case, disposition(case.task_id, action, who, 1, **DISPOSE), config)
    assert err.value.reason == "invalid_transition"


def test_disposal_needs_result_and_evidence(case: TaskCase, config: LoopConfig) -> None:
    dept = case.task.department
    case = run(case, config, (A.sign, dept, {}), (A.start, dept, {}))
    with pytest.raises(MissingEvidence, match="photo") as err:
        apply(
            case,
            disposition(case.task_id, A.dispose, dept, 9, result=DispositionResult.confirmed),
            config,
        )
    assert err.value.reason == "missing_evidence"
    with pytest.raises(MissingEvidence, match="result"):
        apply(case, disposition(case.task_id, A.dispose, dept, 9, evidence=["x"]), config)


def test_return_reroutes_to_the_next_candidate(case: TaskCase, config: LoopConfig) -> None:
    assert case.candidates == ["xihu_market", "hz_market", "zj_market"]
    d = disposition(case.task_id, A.return_, "xihu_market", 1, reason="not our jurisdiction")
    moved, events = apply(case, d, config)
    assert [(e.from_state, e.to_state, e.department) for e in events] == [
        (TaskState.dispatched, TaskState.returned, "xihu_market"),
        (TaskState.returned, TaskState.dispatched, "hz_market"),
    ]
    assert moved.task.department == "hz_market"
    assert moved.task.returns == 1
    assert moved.task.sign_deadline == d.event_time + timedelta(hours=4)
    with pytest.raises(MissingReason):
        apply(moved, disposition(case.task_id, A.return_, "hz_market", 2), config)


def test_repeated_returns_go_to_arbitration(case: TaskCase) -> None:
    config = LoopConfig(max_returns=2)
    case = run(case, config, (A.return_, "xihu_market", {"reason": "no"}))
    d = disposition(case.task_id, A.return_, "hz_market", 7, reason="not ours either")
    case, events = apply(case, d, config)
    assert events[-1].to_state is TaskState.arbitration
    assert case.task.department == "risk_centre"
    centre = "risk_centre"
    with pytest.raises(MissingReason, match="reason"):  # the decision must say why
        apply(case, disposition(case.task_id, A.assign, centre, 8, assign_to="zj_market"), config)
    with pytest.raises(MissingReason, match="assign_to"):
        apply(case, disposition(case.task_id, A.assign, centre, 8, reason="why"), config)
    with pytest.raises(WrongDepartment):  # only the risk centre arbitrates
        apply(
            case,
            disposition(case.task_id, A.assign, "hz_market", 8, assign_to="hz_market", reason="x"),
            config,
        )
    d = disposition(
        case.task_id, A.assign, centre, 8, assign_to="zj_market", reason="province decides"
    )
    assigned, (event,) = apply(case, d, config)
    assert (event.from_state, event.to_state) == (TaskState.arbitration, TaskState.dispatched)
    assert (event.department, event.reason, event.at) == (
        "zj_market",
        "province decides",
        d.event_time,
    )
    assert assigned.task.department == "zj_market"
    assert assigned.task.state is TaskState.dispatched
    assert assigned.task.sign_deadline == d.event_time + timedelta(hours=4)
    assert apply(assigned, d, config) == (assigned, [])  # redelivered: applied once
    with pytest.raises(InvalidTransition):  # no longer in arbitration
        apply(assigned, d.model_copy(update={"event_id": "d-9"}), config)


def test_running_out_of_candidates_goes_to_arbitration(case: TaskCase, config: LoopConfig) -> None:
    case = run(
        case,
        LoopConfig(max_returns=9),
        (A.return_, "xihu_market", {"reason": "no"}),
        (A.return_, "hz_market", {"reason": "no"}),
        (A.return_, "zj_market", {"reason": "no"}),
    )
    assert case.task.state is TaskState.arbitration


def test_reopen_restarts_with_the_same_department(case: TaskCase, config: LoopConfig) -> None:
    dept = case.task.department
    case = run(case, config, (A.sign, dept, {}), (A.start, dept, {}), (A.dispose, dept, DISPOSE))
    with pytest.raises(MissingReason):
        apply(case, disposition(case.task_id, A.reopen, "risk_centre", 50), config)
    at = T0 + timedelta(days=1)
    case, (event,) = apply(
        case,
        disposition(case.task_id, A.reopen, "risk_centre", 51, at=at, reason="photo unclear"),
        config,
    )
    assert event.to_state is TaskState.reopened
    assert case.task.department == dept
    assert case.result is None
    assert case.task.sign_deadline == at + timedelta(hours=4)
    case = run(case, config, (A.sign, dept, {}))
    assert case.task.state is TaskState.signed


def test_every_event_raises_the_task_revision_and_a_repeat_does_not(
    case: TaskCase, config: LoopConfig
) -> None:
    """The SQL store keeps the highest revision (sinks/sql.py): it must rise with each event."""
    assert case.task.revision == 2  # created, dispatched
    dept = case.task.department
    signed, events = apply(case, disposition(case.task_id, A.sign, dept, 1), config)
    assert signed.task.revision == case.task.revision + len(events) == 3
    again, none = apply(signed, disposition(case.task_id, A.sign, dept, 1), config)
    assert none == []
    assert again.task.revision == 3  # the same disposition twice: nothing new
    started, _ = apply(signed, disposition(case.task_id, A.start, dept, 2), config)
    assert started.task.revision > signed.task.revision
