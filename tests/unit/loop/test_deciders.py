"""The handlers' deciders (loop/decide/): pure, state in and state out, and what to send.

A decider that changes nothing hands back the very state it was given, which is how the
worker knows to write nothing (streams/handle.py); what it sends is plain data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from loop.closed_loop import feedback_record
from loop.decide import Context
from loop.decide.feedback import FeedbackState, labelled_rules, on_feedback
from loop.decide.profiles import apply_profile_event, source_profile_event
from loop.decide.tasks import command_key, on_command, on_disposition, supervise
from loop.decide.warnings import change_warnings, changes_by_entity, tick_change
from loop.task_opening import TaskCommand
from schemas.hits import RuleHit
from schemas.internal import ProfileEvent
from schemas.records import DispositionAction as A
from schemas.records import DispositionResult, InspectionResult, Level, VerdictOutcome
from schemas.scores import ModelScore

from .conftest import ROUTING, T0, USCC, disposition
from .test_feedback import disposed

if TYPE_CHECKING:
    from loop.loop_config import LoopConfig

Hit = Callable[..., RuleHit]
Score = Callable[..., ModelScore]


def ctx(config: LoopConfig, after: timedelta = timedelta(0)) -> Context:
    return Context(config=config, now=T0 + after, routing=ROUTING)


def roles(decision: object) -> list[str]:
    return [m.role for m in getattr(decision, "messages")]  # noqa: B009


def test_a_hit_makes_one_task_command_and_a_second_hit_none(
    make_hit: Hit, config: LoopConfig
) -> None:
    c = ctx(config)
    (changes,) = changes_by_entity([make_hit(level=Level.orange)], [], c).values()
    first = change_warnings(None, changes, c)
    assert first.state is not None
    assert len(first.alerts) == 1
    assert roles(first).count("task_commands") == 1
    assert {"alerts", "profile_events"} <= set(roles(first))
    (again,) = changes_by_entity([make_hit(level=Level.orange)], [], c).values()
    second = change_warnings(first.state, again, c)
    assert second.state is not first.state  # one more occurrence
    assert "task_commands" not in roles(second)  # the task exists: nothing to open


def test_a_tick_that_changes_nothing_leaves_the_state_as_it_was(
    make_hit: Hit, config: LoopConfig
) -> None:
    c = ctx(config)
    (changes,) = changes_by_entity([make_hit()], [], c).values()
    state = change_warnings(None, changes, c).state
    quiet = change_warnings(state, [tick_change(c)], c, store_quiet=False)
    assert quiet.state is state
    assert quiet.messages == []
    assert quiet.alerts == []


def test_a_command_opens_its_task_once(make_hit: Hit, config: LoopConfig) -> None:
    c = ctx(config)
    (changes,) = changes_by_entity([make_hit(level=Level.orange)], [], c).values()
    decision = change_warnings(None, changes, c)
    (message,) = [m for m in decision.messages if m.role == "task_commands"]
    command = TaskCommand.model_validate_json(message.value)
    assert command_key(command) == message.key
    opened = on_command(None, command, c)
    assert opened.note == "opened"
    assert opened.state is not None
    assert roles(opened)[0].startswith("department:")
    assert "task_events" in roles(opened)
    repeat = on_command(opened.state, command, c)
    assert repeat.note == "exists"
    assert repeat.state is opened.state
    assert repeat.messages == []


def test_a_refused_disposition_changes_nothing_and_is_answered(config: LoopConfig) -> None:
    refused = on_disposition(None, disposition("task-x", A.sign, "hz_market", 1), ctx(config))
    assert refused.state is None
    assert refused.verdict is not None
    assert refused.verdict.outcome is VerdictOutcome.refused
    assert roles(refused) == ["verdicts"]


def test_a_disposal_is_fed_back_to_the_entity(
    make_hit: Hit, make_score: Score, config: LoopConfig
) -> None:
    disposal, warnings = disposed(make_hit, make_score, config, DispositionResult.confirmed)
    case = feedback_record(disposal)
    rules = labelled_rules(warnings, case)
    assert rules == ["food/failed_inspection"]
    state = FeedbackState(warnings, {r: {"confirmed": 0, "false_alarm": 0} for r in rules})
    c = ctx(config, timedelta(hours=1))
    done = on_feedback(state, case, c)
    assert done.note == "fed_back"
    assert done.state is not None
    assert done.state.counters == {"food/failed_inspection": {"confirmed": 1, "false_alarm": 0}}
    assert done.feedback is not None
    assert [x.model for x in done.feedback.labels] == ["hst_inspections"]
    assert "profile_events" in roles(done)
    again = on_feedback(done.state, case, c)
    assert again.note == "repeated"
    assert again.state is done.state
    assert again.messages == []
    assert on_feedback(FeedbackState(None), case, c).note == "no_warnings"


def test_an_open_task_is_supervised_once_per_step(make_hit: Hit, config: LoopConfig) -> None:
    c = ctx(config)
    (changes,) = changes_by_entity([make_hit(level=Level.orange)], [], c).values()
    (message,) = [
        m for m in change_warnings(None, changes, c).messages if m.role == "task_commands"
    ]
    case = on_command(None, TaskCommand.model_validate_json(message.value), c).state
    assert case is not None
    late = ctx(config, timedelta(days=60))
    first = supervise(case, late)
    assert first.steps
    assert "supervision" in roles(first)
    assert first.state is not None
    again = supervise(first.state, late)
    assert again.steps == []
    assert again.state is first.state


def test_source_events_enter_the_profile_once(config: LoopConfig) -> None:
    record = InspectionResult.model_validate(
        {
            "event_id": "insp-1",
            "event_time": T0.isoformat(),
            "uscc": USCC,
            "region_code": "330106",
            "item_code": "FOOD-001",
            "outcome": "fail",
            "critical_count": 1,
            "entity_name": "某某餐饮店",
        }
    )
    event = source_profile_event("inspections", record)
    assert event is not None
    assert event.kind == "inspection_fail"
    assert source_profile_event("equipment", record) is None
    added = apply_profile_event(None, event, ctx(config))
    assert added.state is not None
    assert added.state.counts == {"inspection": 1}
    same = apply_profile_event(added.state, event, ctx(config))
    assert same.state is added.state  # already in its history: nothing to store
    other = ProfileEvent(uscc=USCC, kind="complaint", at=T0, ref="c-1")
    assert apply_profile_event(added.state, other, ctx(config)).state is not added.state
