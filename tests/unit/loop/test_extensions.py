"""Extensions (延期): asked by the department holding a signed task, decided by the centre."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from loop.errors import BadExtension, InvalidTransition, LoopError, MissingReason, WrongDepartment
from loop.state_machine import apply, open_task
from loop.supervision import due
from loop.verdicts import HTTP_STATUS, judge
from loop.warnings import fold
from schemas.records import DispositionAction as A
from schemas.records import Level, TaskState, VerdictOutcome

from .conftest import ROUTING, T0, disposition

if TYPE_CHECKING:
    from collections.abc import Callable

    from loop.loop_config import LoopConfig
    from loop.task_opening import TaskCase
    from schemas.hits import RuleHit

FRIDAY = datetime(2024, 6, 7, 4, 0, tzinfo=UTC)  # asked as noon CST; the day is what counts
FRIDAY_END = datetime(2024, 6, 7, 15, 59, 59, tzinfo=UTC)  # 23:59:59 CST


@pytest.fixture
def signed(make_hit: Callable[..., RuleHit], config: LoopConfig) -> TaskCase:
    state, (alert,) = fold(None, make_hit(level=Level.orange), T0, config)
    case, _ = open_task(alert, state.warnings[alert.fingerprint].template, ROUTING, config, T0)
    case, _ = apply(case, disposition(case.task_id, A.sign, case.task.department, 1), config)
    return case


def ask(case: TaskCase, config: LoopConfig, n: int = 2, **over: object) -> TaskCase:
    data: dict[str, object] = {"reason": "需协调住建部门联合检查", "extend_to": FRIDAY, **over}
    new, _ = apply(
        case, disposition(case.task_id, A.extend, case.task.department, n, **data), config
    )
    return new


def test_request_waits_on_the_task_without_changing_its_state(
    signed: TaskCase, config: LoopConfig
) -> None:
    d = disposition(
        signed.task_id,
        A.extend,
        signed.task.department,
        2,
        reason="需协调住建部门联合检查",
        extend_to=FRIDAY,
    )
    case, events = apply(signed, d, config)
    assert case.task.state is TaskState.signed
    assert case.task.extension_to == FRIDAY_END
    assert case.task.extension_reason == "需协调住建部门联合检查"
    assert case.task.dispose_deadline == signed.task.dispose_deadline  # not yet granted
    (event,) = events
    assert (event.from_state, event.to_state) == (TaskState.signed, TaskState.signed)
    assert event.reason == "extension asked to 2024-06-07: 需协调住建部门联合检查"
    assert event.actor == f"officer-{signed.task.department}"
    assert case.event_count == signed.event_count  # an audit note, not a transition


def test_grant_moves_the_deadline_and_restarts_the_ladder(
    signed: TaskCase, config: LoopConfig
) -> None:
    late = signed.task.dispose_deadline.replace(hour=23)
    overdue, raised = due(signed, late, config)
    assert "dispose:supervision" in overdue.fired
    assert raised
    case = ask(overdue, config)
    grant = disposition(case.task_id, A.grant_extension, "risk_centre", 3, at=late)
    granted, (event,) = apply(case, grant, config)
    assert granted.task.dispose_deadline == FRIDAY_END
    assert granted.task.extension_to is None
    assert granted.task.extensions == 1
    assert not [f for f in granted.fired if f.startswith("dispose:")]
    assert event.reason == "extension granted: dispose deadline 2024-06-04 → 2024-06-07"
    assert event.department == "risk_centre"
    assert event.to_state is TaskState.signed
    # the ladder runs again against the new deadline: nothing is due the same evening
    assert due(granted, late, config)[1] == []


def test_refuse_needs_a_reason_and_keeps_the_deadline(signed: TaskCase, config: LoopConfig) -> None:
    case = ask(signed, config)
    bare = disposition(case.task_id, A.refuse_extension, "risk_centre", 3)
    with pytest.raises(MissingReason):
        apply(case, bare, config)
    refuse = disposition(case.task_id, A.refuse_extension, "risk_centre", 4, reason="证据已足够")
    refused, (event,) = apply(case, refuse, config)
    assert refused.task.extension_to is None
    assert refused.task.dispose_deadline == signed.task.dispose_deadline
    assert event.reason == "extension to 2024-06-07 refused: 证据已足够"
    assert refused.task.extensions == 0


@pytest.mark.parametrize(
    ("extend_to", "words"),
    [
        (datetime(2024, 6, 2, 4, tzinfo=UTC), "2024-06-02 is in the past"),
        (datetime(2024, 6, 3, 4, tzinfo=UTC), "not later than the current deadline 2024-06-04"),
        (datetime(2024, 6, 8, 4, tzinfo=UTC), "2024-06-08 is a day off (周末)"),
        (datetime(2024, 6, 10, 4, tzinfo=UTC), "2024-06-10 is a day off (端午)"),
        (None, "needs extend_to"),
    ],
)
def test_bad_deadlines_are_refused_with_the_reason(
    signed: TaskCase, config: LoopConfig, extend_to: datetime | None, words: str
) -> None:
    with pytest.raises(BadExtension) as refused:
        ask(signed, config, extend_to=extend_to)
    assert words in refused.value.message
    assert HTTP_STATUS[refused.value.reason] == 422


def test_request_needs_a_reason(signed: TaskCase, config: LoopConfig) -> None:
    with pytest.raises(MissingReason):
        ask(signed, config, reason="  ")


def test_one_request_at_a_time_and_nothing_to_decide_without_one(
    signed: TaskCase, config: LoopConfig
) -> None:
    with pytest.raises(InvalidTransition, match="no extension request"):
        apply(signed, disposition(signed.task_id, A.grant_extension, "risk_centre", 5), config)
    case = ask(signed, config)
    with pytest.raises(InvalidTransition, match="already waiting"):
        ask(case, config, n=6, extend_to=datetime(2024, 6, 12, 4, tzinfo=UTC))


def test_who_may_ask_and_who_decides(signed: TaskCase, config: LoopConfig) -> None:
    case = ask(signed, config)
    own = case.task.department
    with pytest.raises(WrongDepartment):  # the department cannot grant itself more time
        apply(case, disposition(case.task_id, A.grant_extension, own, 7), config)
    with pytest.raises(WrongDepartment):  # nor can another department ask for it
        apply(
            signed,
            disposition(signed.task_id, A.extend, "nb_market", 8, reason="x", extend_to=FRIDAY),
            config,
        )


def test_only_a_signed_task_can_be_extended(
    make_hit: Callable[..., RuleHit], config: LoopConfig
) -> None:
    state, (alert,) = fold(None, make_hit(level=Level.orange), T0, config)
    case, _ = open_task(alert, state.warnings[alert.fingerprint].template, ROUTING, config, T0)
    d = disposition(case.task_id, A.extend, case.task.department, 1, reason="x", extend_to=FRIDAY)
    _, _, verdict = judge(case, d, config, T0)
    assert verdict.outcome is VerdictOutcome.refused
    assert verdict.reason == "invalid_transition"
    assert "dispatched" in verdict.message


def test_disposal_withdraws_a_pending_request_and_keeps_its_evidence(
    signed: TaskCase, config: LoopConfig
) -> None:
    case = ask(signed, config)
    dept = case.task.department
    case, _ = apply(case, disposition(case.task_id, A.start, dept, 3), config)
    ref = "sha256:" + "ab" * 32 + "/现场照片.jpg"
    d = disposition(case.task_id, A.dispose, dept, 4, result="confirmed", evidence=[ref])
    disposed, _ = apply(case, d, config)
    assert disposed.task.extension_to is None
    assert disposed.task.evidence == [ref]
    reopened, _ = apply(
        disposed, disposition(case.task_id, A.reopen, "risk_centre", 5, reason="复查"), config
    )
    assert reopened.task.evidence == []


def test_refusals_are_loop_errors_never_crashes(signed: TaskCase, config: LoopConfig) -> None:
    """Every bad request reaches the verdict as a refusal (the API shows its reason)."""
    for n, over in enumerate([{"reason": None}, {"extend_to": None}], start=20):
        d = disposition(
            signed.task_id,
            A.extend,
            signed.task.department,
            n,
            **{"reason": "r", "extend_to": FRIDAY, **over},
        )
        with pytest.raises(LoopError):
            apply(signed, d, config)
