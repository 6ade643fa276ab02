from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from loop import ids
from loop.loop_config import LoopConfig
from loop.silences import Silence
from loop.warnings import EntityWarnings, fold, resolve, should_task, tick
from schemas.hits import RuleHit
from schemas.records import AlertState, DispositionResult, Level

from .conftest import T0, USCC

if TYPE_CHECKING:
    from schemas.scores import ModelScore

Hit = Callable[..., RuleHit]


def test_first_hit_opens_a_warning_with_a_deterministic_id(
    make_hit: Hit, config: LoopConfig
) -> None:
    hit = make_hit()
    state, alerts = fold(None, hit, T0, config)
    (alert,) = alerts
    fp = ids.fingerprint("inspections", USCC, "FOOD-001")
    assert alert.fingerprint == fp
    assert alert.alert_id == f"{fp}.1"
    assert alert.state is AlertState.new
    assert alert.level is Level.yellow
    assert alert.evidence == [hit.event_id]
    assert alert.occurrences == 1
    (reason,) = alert.reasons
    assert (reason.kind, reason.id, reason.version, reason.pack) == (
        "rule",
        "failed_inspection",
        "1.0.0",
        "food",
    )
    assert reason.values == {"critical_count": "1"}
    assert should_task(alert, config)
    # A state round-trips through JSON, as the Faust table stores it.
    assert EntityWarnings.model_validate_json(state.model_dump_json()) == state


def test_a_rules_own_group_key_splits_warnings(make_hit: Hit, config: LoopConfig) -> None:
    state, (a,) = fold(None, make_hit(group_key=f"{USCC}|fence-1"), T0, config)
    state, alerts = fold(state, make_hit(group_key=f"{USCC}|fence-2"), T0, config)
    assert alerts[0].fingerprint != a.fingerprint
    assert alerts[0].state is AlertState.new
    _, (same,) = fold(state, make_hit(group_key=f"{USCC}|fence-1"), T0, config)
    assert same.fingerprint == a.fingerprint
    assert same.occurrences == 2


def test_replayed_hit_changes_nothing(make_hit: Hit, config: LoopConfig) -> None:
    hit = make_hit()
    state, _ = fold(None, hit, T0, config)
    again, alerts = fold(state, hit, T0, config)
    assert alerts == []
    assert again == state


def test_hits_group_and_escalate_after_n_in_window(make_hit: Hit) -> None:
    config = LoopConfig(escalate_after=3, window="1h", max_escalations=1)
    state = None
    states = []
    for minute in (0, 10, 20, 30, 40, 50):
        state, (alert, *_) = fold(
            state, make_hit(event_time=T0 + timedelta(minutes=minute)), T0, config
        )
        states.append((alert.state, alert.level, alert.occurrences))
    assert states[0] == (AlertState.new, Level.yellow, 1)
    assert states[1] == (AlertState.updated, Level.yellow, 2)
    assert states[2] == (AlertState.escalated, Level.orange, 3)
    assert states[-1] == (AlertState.updated, Level.orange, 6)  # capped at one step
    assert alert.first_seen == T0
    assert alert.last_seen == T0 + timedelta(minutes=50)
    assert len(alert.evidence) == 6


def test_hits_spread_over_time_do_not_escalate(make_hit: Hit) -> None:
    config = LoopConfig(escalate_after=3, window="1h")
    state = None
    for hour in range(5):
        state, (alert,) = fold(state, make_hit(event_time=T0 + timedelta(hours=hour)), T0, config)
    assert alert.level is Level.yellow
    assert alert.occurrences == 5


def test_a_higher_level_hit_raises_the_level(make_hit: Hit, config: LoopConfig) -> None:
    state, _ = fold(None, make_hit(), T0, config)
    _, (alert,) = fold(state, make_hit(level=Level.red, rule_id="trapped"), T0, config)
    assert alert.state is AlertState.escalated
    assert alert.level is Level.red
    assert [r.id for r in alert.reasons] == ["failed_inspection", "trapped"]


def test_quiet_warning_falls_back(make_hit: Hit) -> None:
    config = LoopConfig(escalate_after=2, window="1h", quiet_after="2h")
    state, _ = fold(None, make_hit(), T0, config)
    state, (alert,) = fold(state, make_hit(), T0, config)
    assert alert.level is Level.orange
    same, nothing = tick(state, alert.last_seen + timedelta(hours=1), config)
    assert nothing == []
    assert same == state
    state, (alert,) = tick(state, alert.last_seen + timedelta(hours=2), config)
    assert alert.state is AlertState.deescalated
    assert alert.level is Level.yellow
    assert tick(state, alert.last_seen + timedelta(hours=9), config)[1] == []


def test_evidence_is_bounded(make_hit: Hit) -> None:
    config = LoopConfig(max_evidence=3, escalate_after=0)
    state = None
    for _ in range(5):
        state, (alert,) = fold(state, make_hit(), T0, config)
    assert alert.evidence == ["ev-2", "ev-3", "ev-4"]
    assert alert.occurrences == 5


def test_resolution_ends_the_epoch_and_a_return_gets_a_new_alert_id(
    make_hit: Hit, config: LoopConfig
) -> None:
    state, (first,) = fold(None, make_hit(), T0, config)
    state, (ended,) = resolve(
        state, first.alert_id, DispositionResult.confirmed, T0, config, task_id="t1"
    )
    assert ended.state is AlertState.resolved
    assert ended.alert_id == first.alert_id
    assert not should_task(ended, config)
    state, (back,) = fold(state, make_hit(), T0 + timedelta(days=2), config)
    assert back.state is AlertState.new
    assert back.alert_id == f"{first.fingerprint}.2"
    assert back.occurrences == 1
    assert state.warnings[first.fingerprint].closed_task_id == "t1"


def test_every_record_of_a_warning_raises_its_revision_and_a_replay_does_not(
    make_hit: Hit, config: LoopConfig
) -> None:
    """The SQL store and the Redis views keep the highest revision (sinks/sql.py): it must rise
    with each record of a warning, over its epochs too, and an event redone must not raise it."""
    hit = make_hit()
    state, (first,) = fold(None, hit, T0, config)
    state, (second,) = fold(state, make_hit(), T0 + timedelta(minutes=5), config)
    assert (first.revision, second.revision) == (1, 2)
    assert fold(state, hit, T0, config)[1] == []
    assert state.warnings[first.fingerprint].revision == 2
    state, (ended,) = resolve(state, first.alert_id, DispositionResult.confirmed, T0, config)
    state, (back,) = fold(state, make_hit(), T0 + timedelta(days=2), config)
    assert (ended.revision, back.revision) == (3, 4)
    assert back.alert_id != ended.alert_id
    redone, again = fold(state, make_hit(), T0 + timedelta(days=2, minutes=1), config)
    assert [a.revision for a in again] == [5]
    assert redone.warnings[first.fingerprint].revision == 5


def test_replay_of_an_ended_epochs_hit_does_not_reopen_it(
    make_hit: Hit, config: LoopConfig
) -> None:
    hit = make_hit()
    state, (first,) = fold(None, hit, T0, config)
    state, _ = resolve(state, first.alert_id, DispositionResult.confirmed, T0, config)
    assert fold(state, hit, T0, config)[1] == []
    state, (back,) = fold(state, make_hit(), T0, config)
    assert back.alert_id.endswith(".2")
    assert fold(state, hit, T0, config)[1] == []  # still remembered in the new epoch
    # Resolving the old epoch again (a late duplicate) leaves the new one alone.
    assert resolve(state, first.alert_id, DispositionResult.confirmed, T0, config)[1] == []


def test_false_alarm_disposition_marks_the_warning(make_hit: Hit, config: LoopConfig) -> None:
    state, (first,) = fold(None, make_hit(), T0, config)
    _, (ended,) = resolve(state, first.alert_id, DispositionResult.false_alarm, T0, config)
    assert ended.state is AlertState.false_alarm


def test_higher_warning_inhibits_lower_ones_on_the_same_entity(
    make_hit: Hit, config: LoopConfig
) -> None:
    state, (low,) = fold(None, make_hit(), T0, config)
    state, alerts = fold(state, make_hit(item_code="FOOD-009", level=Level.red), T0, config)
    high, suppressed = alerts
    assert high.level is Level.red
    assert high.state is AlertState.new
    assert suppressed.alert_id == low.alert_id
    assert suppressed.state is AlertState.suppressed
    assert suppressed.suppressed_by == high.alert_id
    assert should_task(suppressed, config)  # its own risk is verified all the same
    # A new hit on the suppressed warning is recorded, still suppressed (not dropped).
    state, (again,) = fold(state, make_hit(), T0, config)
    assert again.state is AlertState.suppressed
    assert again.occurrences == 2
    # When the red one ends, the lower one comes back (same alert id: same task, not a second).
    state, alerts = resolve(state, high.alert_id, DispositionResult.confirmed, T0, config)
    assert [a.state for a in alerts] == [AlertState.resolved, AlertState.updated]
    assert alerts[1].suppressed_by is None
    assert alerts[1].alert_id == low.alert_id


def test_which_warnings_get_tasks_does_not_depend_on_the_order_of_sources(
    make_hit: Hit, config: LoopConfig
) -> None:
    """An enterprise's complaint and inspection warnings arrive on two topics, in either order."""
    low = make_hit()
    high = make_hit(item_code="FOOD-009", level=Level.red)

    def tasked(first: object, second: object) -> set[str]:
        state, alerts = fold(None, first, T0, config)  # type: ignore[arg-type]
        _, more = fold(state, second, T0, config)  # type: ignore[arg-type]
        return {a.alert_id for a in [*alerts, *more] if should_task(a, config)}

    assert tasked(low, high) == tasked(high, low)
    assert len(tasked(low, high)) == 2


def test_other_entities_are_not_inhibited(make_hit: Hit, config: LoopConfig) -> None:
    a, _ = fold(None, make_hit(level=Level.red), T0, config)
    b, (alert,) = fold(None, make_hit(entity="OTHER", uscc=None), T0, config)
    assert alert.state is AlertState.new
    assert b.entity == "OTHER"
    assert a.entity == USCC


def test_silenced_warning_is_recorded_and_expires(make_hit: Hit, config: LoopConfig) -> None:
    silence = Silence(
        silence_id="s1",
        item_code="FOOD-001",
        region_prefix="3301",
        reason="known, under rectification",
        creator="li",
        starts_at=T0,
        ends_at=T0 + timedelta(hours=4),
    )
    state, (alert,) = fold(None, make_hit(), T0, config, [silence])
    assert alert.state is AlertState.silenced
    assert not should_task(alert, config)
    state, nothing = tick(state, T0 + timedelta(hours=1), config, [silence])
    assert nothing == []
    state, (alert,) = tick(state, T0 + timedelta(hours=4), config, [silence])
    assert alert.state is AlertState.new
    assert should_task(alert, config)


def test_silenced_warnings_do_not_inhibit(make_hit: Hit, config: LoopConfig) -> None:
    silence = Silence(
        silence_id="s1",
        item_code="FOOD-009",
        reason="drill",
        creator="li",
        starts_at=T0,
        ends_at=T0 + timedelta(days=1),
    )
    state, _ = fold(None, make_hit(), T0, config, [silence])
    _, alerts = fold(state, make_hit(item_code="FOOD-009", level=Level.red), T0, config, [silence])
    assert [a.state for a in alerts] == [AlertState.silenced]


def test_shadow_hits_live_apart_and_never_task(make_hit: Hit, config: LoopConfig) -> None:
    state, (active,) = fold(None, make_hit(), T0, config)
    state, (shadow,) = fold(state, make_hit(mode="shadow", level=Level.red), T0, config)
    assert shadow.shadow
    assert shadow.fingerprint != active.fingerprint
    assert shadow.state is AlertState.new
    assert not should_task(shadow, config)
    assert state.warnings[active.fingerprint].suppressed_by is None


def test_model_score_corroborates_the_live_warning(
    make_hit: Hit, make_score: Callable[..., ModelScore], config: LoopConfig
) -> None:
    state, (rule,) = fold(None, make_hit(), T0, config)
    state, (fused,) = fold(state, make_score(), T0, config)
    assert fused.fingerprint == rule.fingerprint
    assert fused.occurrences == 2
    assert {r.kind for r in fused.reasons} == {"rule", "model"}
    assert state.warnings[rule.fingerprint].features["hst_inspections"]["score"] == 55.0


def test_model_score_alone_opens_its_own_warning(
    make_score: Callable[..., ModelScore], config: LoopConfig
) -> None:
    _, (alert,) = fold(None, make_score(), T0, config)
    assert alert.item_code == "model:hst_inspections"
    assert alert.reasons[0].kind == "model"


def test_non_alerting_or_cold_scores_are_ignored(
    make_score: Callable[..., ModelScore], config: LoopConfig
) -> None:
    assert fold(None, make_score(alert=False), T0, config)[1] == []
    assert fold(None, make_score(warmed_up=False), T0, config)[1] == []


def test_shadow_model_does_not_join_active_warning(
    make_hit: Hit, make_score: Callable[..., ModelScore], config: LoopConfig
) -> None:
    state, (rule,) = fold(None, make_hit(), T0, config)
    _, (alert,) = fold(state, make_score(mode="shadow"), T0, config)
    assert alert.shadow
    assert alert.fingerprint != rule.fingerprint


def test_a_warning_claims_its_task_once_per_epoch(make_hit: Hit, config: LoopConfig) -> None:
    """30 updates of one warning make one task command (the first that should have a task)."""
    from loop.warnings import claim_tasks

    state, alerts = fold(None, make_hit(event_id="e-0"), T0, config)
    state, due = claim_tasks(state, alerts, config)
    assert [a.alert_id for a in due] == [alerts[0].alert_id]
    claimed = 0
    for n in range(1, 30):
        state, alerts = fold(state, make_hit(event_id=f"e-{n}"), T0 + timedelta(minutes=n), config)
        state, due = claim_tasks(state, alerts, config)
        claimed += len(due)
    assert claimed == 0
    fp = alerts[0].fingerprint
    state, ended = resolve(
        state, f"{fp}.1", DispositionResult.confirmed, T0 + timedelta(hours=1), config
    )
    state, alerts = fold(state, make_hit(event_id="e-next"), T0 + timedelta(hours=2), config)
    state, due = claim_tasks(state, alerts, config)
    assert [a.alert_id for a in due] == [f"{fp}.2"], "a new epoch needs its own task"


def test_repetition_never_lifts_a_yellow_rule_to_red_unless_the_rule_says_so(
    make_hit: Hit,
) -> None:
    """Issue #17: a yellow "terminal offline" escalated to RED 9 times by repeating."""
    config = LoopConfig(escalate_after=2, window="24h", max_escalations=2)
    capped = allowed = None
    for i in range(12):
        at = T0 + timedelta(minutes=i)
        capped, _ = fold(capped, make_hit(event_id=f"e{i}", event_time=at), at, config)
        allowed, _ = fold(
            allowed, make_hit(event_id=f"e{i}", event_time=at, escalate_to=Level.red), at, config
        )
    assert capped is not None
    assert allowed is not None
    (w,) = capped.warnings.values()
    assert w.level is Level.orange
    assert w.base_level is Level.yellow
    (r,) = allowed.warnings.values()
    assert r.level is Level.red


def test_an_orange_hit_on_an_escalated_yellow_warning_does_not_make_it_red(
    make_hit: Hit,
) -> None:
    config = LoopConfig(escalate_after=2, window="24h", max_escalations=2)
    state = None
    for i in range(2):
        state, _ = fold(state, make_hit(event_id=f"y{i}"), T0, config)
    state, _ = fold(state, make_hit(event_id="o", level=Level.orange), T0, config)
    assert state is not None
    assert [w.level for w in state.warnings.values()] == [Level.orange]


def test_updates_are_grouped_and_each_notice_says_what_changed(make_hit: Hit) -> None:
    config = LoopConfig(escalate_after=0, repeat_interval="4h", group_interval="5m")
    state, (first,) = fold(None, make_hit(event_id="a"), T0, config)
    assert first.notify
    assert first.changes == []
    quiet = []
    for i in range(5):
        state, (a,) = fold(state, make_hit(event_id=f"b{i}"), T0 + timedelta(minutes=i), config)
        quiet.append(a)
    assert not any(a.notify for a in quiet)
    assert quiet[-1].changes == ["occurrences 1→6"]
    later = T0 + timedelta(hours=5)
    state, (reminder,) = fold(state, make_hit(event_id="c", event_time=later), later, config)
    assert reminder.notify
    assert reminder.changes == ["occurrences 1→7"]
    state, (up,) = fold(state, make_hit(event_id="d", level=Level.orange), later, config)
    assert up.notify
    assert up.changes[0].startswith("level yellow→orange")


def test_a_safety_alarm_is_not_silenced_without_an_approved_safety_silence(
    make_hit: Hit, config: LoopConfig
) -> None:
    ends = T0 + timedelta(hours=4)
    plain = Silence(
        silence_id="s1", entity=USCC, reason="维保", creator="zhang", starts_at=T0, ends_at=ends
    )
    safety = plain.model_copy(update={"silence_id": "s2", "safety": True, "approved_by": "li"})
    hit = make_hit(level=Level.red, safety=True)
    _, (alarm,) = fold(None, hit, T0, config, [plain])
    assert alarm.state is AlertState.new
    assert alarm.safety
    assert should_task(alarm, config)
    _, (hushed,) = fold(None, hit, T0, config, [safety])
    assert hushed.state is AlertState.silenced


def test_a_backfilled_warning_is_recorded_but_never_tasked_until_a_live_hit(
    make_hit: Hit, config: LoopConfig
) -> None:
    state, (old,) = fold(None, make_hit(event_id="h"), T0, config, historical=True)
    assert old.historical
    assert not should_task(old, config)
    _, (live,) = fold(state, make_hit(event_id="l"), T0, config)
    assert not live.historical
    assert should_task(live, config)


def test_one_event_raising_two_warnings_on_one_entity_makes_one_case_with_one_task(
    make_hit: Hit, config: LoopConfig
) -> None:
    """Issue #17: a red food-poisoning task and an orange "surge" task for one complaint."""
    from loop.warnings import claim_tasks, join_cases

    red = make_hit(event_id="c1", item_code="POISON", level=Level.red)
    orange = make_hit(event_id="c1", item_code="SURGE", level=Level.orange)
    state, first = fold(None, orange, T0, config)
    state, second = fold(state, red, T0, config)
    state, alerts, upgrades = join_cases(state, first + second, config)  # one fingerprint twice
    assert upgrades == []  # the lead is the highest
    state, due = claim_tasks(state, alerts, config)
    (lead,) = due
    assert lead.level is Level.red
    assert lead.case_task_id is None
    joined = [a for a in alerts if a.case_task_id]  # its new and its suppressed record
    assert {(a.item_code, a.case_task_id) for a in joined} == {
        ("SURGE", ids.task_id(lead.alert_id))
    }
    later = make_hit(event_id="c2", item_code="SURGE", level=Level.orange)
    state, again = fold(state, later, T0, config)
    assert claim_tasks(state, join_cases(state, again, config)[1], config)[1] == []
    other = make_hit(event_id="c3", item_code="OTHER", level=Level.orange)
    state, fresh = fold(state, other, T0, config)
    state, fresh, _ = join_cases(state, fresh, config)
    assert [a.item_code for a in claim_tasks(state, fresh, config)[1]] == ["OTHER"]


def test_a_warning_says_who_where_what_and_keeps_its_evidence_and_history_bounded(
    make_hit: Hit, config: LoopConfig
) -> None:
    from loop.subject import Subject
    from loop.warnings import MAX_EVIDENCE_RECORDS, MAX_HISTORY

    named = Subject("某餐饮店", "文三路1号", None)
    state, (first,) = fold(None, make_hit(), T0, config, subject=named)
    assert (first.entity_name, first.entity_address) == ("某餐饮店", "文三路1号")
    assert [(h.state, h.level) for h in first.history] == [(AlertState.new, Level.yellow)]
    # an event that names nobody (equipment, a truck) keeps what the entity is known as
    state, (other,) = fold(state, make_hit(item_code="EQ-1", source="equipment"), T0, config)
    assert (other.entity_name, other.entity_address) == ("某餐饮店", "文三路1号")
    alert = other
    for minute in range(1, 3 * MAX_HISTORY):
        later = T0 + timedelta(hours=minute * 5)  # past repeat_interval: every change notified
        state, alerts = fold(state, make_hit(event_time=later), later, config)
        alert = next(a for a in alerts if a.fingerprint == first.fingerprint)
    assert len(alert.evidence_records) == MAX_EVIDENCE_RECORDS
    last = alert.evidence_records[-1]
    assert (last.source, last.reason, last.values) == (
        "inspections",
        "rule:failed_inspection",
        {"critical_count": "1"},
    )
    assert len(alert.history) == MAX_HISTORY
    assert alert.history[-1].at == alert.last_seen  # the event's time, not the clock's
    assert EntityWarnings.model_validate_json(state.model_dump_json()) == state


def test_complaint_text_reaches_the_warning_masked(make_hit: Hit, config: LoopConfig) -> None:
    from loop.subject import subject_of

    said = subject_of("complaints", {"text": "请回电 13812345678", "subject": "投诉", "uscc": USCC})
    _, (alert,) = fold(None, make_hit(source="complaints"), T0, config, subject=said)
    assert alert.complaint_text == "投诉：请回电 138****5678"
