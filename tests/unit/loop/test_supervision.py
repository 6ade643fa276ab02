from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from loop.deadlines import deadline_after
from loop.state_machine import apply, open_task
from loop.supervision import due, next_due
from loop.warnings import fold
from schemas.records import DispositionAction as A
from schemas.records import Level, SupervisionKind

from .conftest import ROUTING, T0, disposition

if TYPE_CHECKING:
    from collections.abc import Callable

    from loop.loop_config import LoopConfig
    from loop.task_opening import TaskCase
    from schemas.hits import RuleHit


@pytest.fixture
def red(make_hit: Callable[..., RuleHit], config: LoopConfig) -> TaskCase:
    state, (alert,) = fold(None, make_hit(level=Level.red), T0, config)
    return open_task(alert, None, ROUTING, config, T0)[0]


def test_ladder_fires_each_step_once(red: TaskCase, config: LoopConfig) -> None:
    # red: sign-for within 30 minutes → 催办 at 24 minutes (80 %), 督办 at 30, 通报 5wd later.
    case, none = due(red, T0 + timedelta(minutes=23), config)
    assert none == []
    assert case == red
    assert next_due(case, config) == T0 + timedelta(minutes=24)
    case, (reminder,) = due(case, T0 + timedelta(minutes=24), config)
    assert reminder.kind is SupervisionKind.reminder
    assert reminder.deadline == T0 + timedelta(minutes=30)
    assert due(case, T0 + timedelta(minutes=25), config)[1] == []
    case, (sup,) = due(case, T0 + timedelta(minutes=31), config)
    assert sup.kind is SupervisionKind.supervision
    assert sup.at == red.task.sign_deadline
    notice_at = deadline_after(red.task.sign_deadline, "5wd")
    assert due(case, notice_at - timedelta(seconds=1), config)[1] == []
    case, (notice,) = due(case, notice_at, config)
    assert notice.kind is SupervisionKind.notice
    assert notice.department == red.task.department
    assert due(case, notice_at + timedelta(days=30), config)[1] == []
    assert next_due(case, config) is None
    assert len({reminder.event_id, sup.event_id, notice.event_id}) == 3


def test_after_a_restart_missed_steps_come_at_once_without_a_stale_reminder(
    red: TaskCase, config: LoopConfig
) -> None:
    case, events = due(red, T0 + timedelta(hours=1), config)
    assert [e.kind for e in events] == [SupervisionKind.supervision]
    assert "sign:reminder" in case.fired
    # the same call again, e.g. by a second timer after restart: nothing new
    assert due(case, T0 + timedelta(hours=1), config)[1] == []


def test_signing_switches_to_the_dispose_ladder(red: TaskCase, config: LoopConfig) -> None:
    case, _ = due(red, T0 + timedelta(minutes=24), config)
    case, _ = apply(
        case,
        disposition(case.task_id, A.sign, case.task.department, 1, at=T0 + timedelta(minutes=26)),
        config,
    )
    case, events = due(case, T0 + timedelta(minutes=40), config)
    assert events == []
    case, (reminder,) = due(case, T0 + timedelta(minutes=96), config)
    assert reminder.deadline == red.task.dispose_deadline


def test_deterministic_events_regardless_of_when_noticed(red: TaskCase, config: LoopConfig) -> None:
    _, a = due(red, T0 + timedelta(minutes=31), config)
    _, b = due(red, T0 + timedelta(minutes=59), config)
    assert a == b


def test_done_tasks_have_no_ladder(red: TaskCase, config: LoopConfig) -> None:
    closed = red.model_copy(update={"task": red.task.model_copy(update={"state": "closed"})})
    assert due(closed, T0 + timedelta(days=30), config) == (closed, [])


def test_open_and_overdue_count_open_tasks_per_department_and_those_past_their_deadline() -> None:
    """The one definition the worker's gauges use (streams/task_stage.py, ``supervise``)."""
    from loop.supervision import open_and_overdue
    from schemas.records import TaskState
    from tests.unit.sinks.factories import T0 as F0
    from tests.unit.sinks.factories import make_task

    now = F0 + timedelta(hours=5)  # sign deadline (F0+4h) passed, disposal (F0+1d) not yet
    tasks = [
        make_task(1, state=TaskState.dispatched),  # waiting to be signed, too late: overdue
        make_task(2, state=TaskState.signed),  # racing the disposal deadline: open
        make_task(3, state=TaskState.returned),  # open, but no clock of the department's runs
        make_task(4, state=TaskState.closed),  # done: neither
        make_task(5, state=TaskState.reopened, department="b"),  # sign-for again, too late
    ]
    opened, late = open_and_overdue(tasks, now)
    assert opened == {"xihu_market": 3, "b": 1}
    assert late == {"xihu_market": 1, "b": 1}
