from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from loop import ids
from loop.errors import RoutingError
from loop.routing import parse_table
from loop.task_opening import Recurrence, case_for
from loop.warnings import fold
from schemas.hits import RuleHit, TaskTemplate
from schemas.records import Alert, Level, Task, TaskState

from .conftest import ROUTING, T0

if TYPE_CHECKING:
    from collections.abc import Callable

    from loop.loop_config import LoopConfig
    from schemas.scores import ModelScore


def task_for(*args: Any, **kwargs: Any) -> Task:
    """The task of a fresh case: what the state machine opens."""
    return case_for(*args, **kwargs).task


def alert_of(
    make_hit: Callable[..., RuleHit], config: LoopConfig, **over: object
) -> tuple[Alert, TaskTemplate | None]:
    hit = make_hit(**over)
    state, (alert, *_) = fold(None, hit, T0, config)
    return alert, state.warnings[alert.fingerprint].template


def test_task_from_template_routing_and_deadlines(
    make_hit: Callable[..., RuleHit], config: LoopConfig
) -> None:
    alert, template = alert_of(make_hit, config, level=Level.orange)
    task = task_for(alert, template, ROUTING, config.deadlines, T0)
    assert task.task_id == ids.task_id(alert.alert_id)
    assert task == task_for(alert, template, ROUTING, config.deadlines, T0)  # deterministic
    assert task.department == "xihu_market"
    assert task.state is TaskState.created
    assert task.checklist == ["check licence"]
    assert task.required_evidence == ["photo"]
    assert task.sign_deadline == T0 + timedelta(hours=4)
    assert task.dispose_deadline == T0 + timedelta(hours=24)
    assert task.correlation_id == alert.correlation_id == alert.evidence[-1]
    assert task.source == alert.source  # notification routes match a task's source (Task v6)
    assert task.source


def test_template_department_when_no_route(
    make_hit: Callable[..., RuleHit], config: LoopConfig
) -> None:
    alert, template = alert_of(make_hit, config, region_code="440305")
    assert task_for(alert, template, ROUTING, config.deadlines, T0).department == "zj_market"


def test_model_only_warning_needs_a_route(
    make_hit: Callable[..., RuleHit], config: LoopConfig
) -> None:
    alert, _ = alert_of(make_hit, config, region_code="440305")
    with pytest.raises(RoutingError):
        task_for(alert, None, ROUTING, config.deadlines, T0)


def test_template_deadlines_override_the_level(
    make_hit: Callable[..., RuleHit], config: LoopConfig
) -> None:
    template = TaskTemplate(department="d", sign_deadline="1h", dispose_deadline="2h")
    alert, _ = alert_of(make_hit, config, task=template)
    task = task_for(alert, template, parse_table(""), config.deadlines, T0)
    assert task.sign_deadline - T0 == timedelta(hours=1)


def test_recurrence_links_and_goes_back_to_the_closing_department(
    make_hit: Callable[..., RuleHit], config: LoopConfig
) -> None:
    alert, template = alert_of(make_hit, config)
    rec = Recurrence(previous_task_id="task-old", department="zj_market")
    case = case_for(alert, template, ROUTING, config.deadlines, T0, recurrence=rec)
    assert case.task.previous_task_id == "task-old"
    assert case.task.department == "zj_market"
    assert case.candidates == ["zj_market", "xihu_market", "hz_market"]


def test_a_model_warnings_task_is_titled_and_has_a_checklist(
    make_score: Callable[..., ModelScore], config: LoopConfig
) -> None:
    """Issue #17: model tasks had an empty checklist, titled "hst: anomalous inspections"."""
    state, (alert,) = fold(None, make_score(source="complaints", model="clf"), T0, config)
    assert alert.title == "投诉内容异常（模型 clf）"
    task = task_for(
        alert, state.warnings[alert.fingerprint].template, ROUTING, config.deadlines, T0
    )
    assert task.checklist
    assert task.required_evidence
    assert task.checklist[0] == "核实投诉内容及涉事主体"
