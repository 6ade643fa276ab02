"""What the fold's speed-ups must not change (issue #16).

* A hit or score becomes an observation without validating it again (a dataclass): the records
  the fold makes from it must equal the records validated from their own dump, field for
  field and byte for byte.
* The fold, ticks, cases and task claims copy on write: the state they are given stays as it
  was (an undone event keeps its old value), and the warnings they do not change are shared
  with it rather than copied.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from loop.silences import Silence
from loop.subject import Subject
from loop.warnings import EntityWarnings, claim_tasks, fold, join_cases, resolve, tick
from schemas.hits import RuleHit
from schemas.records import Alert, AlertState, DispositionResult, Level

from .conftest import T0

if TYPE_CHECKING:
    from loop.loop_config import LoopConfig
    from schemas.scores import ModelScore

Hit = Callable[..., RuleHit]


def _same_as_validated(alerts: list[Alert]) -> None:
    assert alerts
    for alert in alerts:
        validated = Alert.model_validate(alert.model_dump())
        assert validated == alert
        assert validated.model_dump_json() == alert.model_dump_json()
        assert alert.model_fields_set == validated.model_fields_set


def _frozen(state: EntityWarnings) -> str:
    return state.model_dump_json()


def test_records_equal_their_validated_form_through_a_warnings_life(
    make_hit: Hit, make_score: Callable[..., ModelScore], config: LoopConfig
) -> None:
    subject = Subject(name="某某餐饮店", address="文三路90号", text="投诉 13812345678")
    state, alerts = fold(None, make_hit(), T0, config, subject=subject)
    _same_as_validated(alerts)
    for n in range(1, 5):  # repeats: escalation, history, evidence records
        state, alerts = fold(state, make_hit(event_time=T0 + timedelta(minutes=n)), T0, config)
        _same_as_validated(alerts)
    state, alerts = fold(state, make_hit(item_code="FOOD-009", level=Level.red), T0, config)
    assert {a.state for a in alerts} == {AlertState.new, AlertState.suppressed}
    _same_as_validated(alerts)
    state, alerts = fold(state, make_score(alert=True, warmed_up=True), T0, config)
    _same_as_validated(alerts)
    hour = {"starts_at": T0, "ends_at": T0 + timedelta(hours=1)}
    silence = Silence(silence_id="s1", item_code="FOOD-001", reason="known", creator="a", **hour)
    state, alerts = tick(state, T0 + timedelta(minutes=10), config, [silence])
    _same_as_validated(alerts)
    state, alerts = tick(state, T0 + timedelta(days=3), config)
    _same_as_validated(alerts)
    red = next(w for w in state.warnings.values() if w.item_code == "FOOD-009")
    state, alerts = resolve(state, red.alert_id, DispositionResult.confirmed, T0, config)
    _same_as_validated(alerts)


def test_a_fold_leaves_the_state_it_was_given_and_shares_what_it_did_not_change(
    make_hit: Hit, config: LoopConfig
) -> None:
    state, _ = fold(None, make_hit(item_code="A", level=Level.red), T0, config)
    for item in ("B", "C", "D"):
        state, _ = fold(state, make_hit(item_code=item), T0, config)
    before = _frozen(state)
    new, alerts = fold(state, make_hit(item_code="C"), T0 + timedelta(minutes=5), config)
    assert _frozen(state) == before
    (changed,) = alerts
    assert new.warnings[changed.fingerprint] is not state.warnings[changed.fingerprint]
    assert new.warnings[changed.fingerprint].occurrences == 2
    others = [fp for fp in state.warnings if fp != changed.fingerprint]
    assert len(others) == 3
    assert all(new.warnings[fp] is state.warnings[fp] for fp in others)


def test_a_new_top_warning_copies_the_ones_it_suppresses_and_leaves_the_old_state(
    make_hit: Hit, config: LoopConfig
) -> None:
    state, _ = fold(None, make_hit(item_code="A"), T0, config)
    state, _ = fold(state, make_hit(item_code="B"), T0, config)
    before = _frozen(state)
    new, alerts = fold(state, make_hit(item_code="C", level=Level.red), T0, config)
    assert _frozen(state) == before
    assert [a.state for a in alerts] == [AlertState.new] + [AlertState.suppressed] * 2
    for w in state.warnings.values():
        assert w.suppressed_by is None
        assert new.warnings[w.fingerprint].suppressed_by == alerts[0].alert_id


def test_ticks_cases_and_claims_leave_the_state_they_were_given(
    make_hit: Hit, config: LoopConfig
) -> None:
    state = None
    alerts: list[Alert] = []
    for n in range(4):  # escalates: a quiet tick brings it back
        state, alerts = fold(state, make_hit(event_time=T0 + timedelta(minutes=n)), T0, config)
    state, more = fold(state, make_hit(item_code="B", event_id="ev-0"), T0, config)
    assert state is not None
    before = _frozen(state)
    joined, due, _ = join_cases(state, alerts + more, config)
    claimed, tasked = claim_tasks(joined, due, config)
    assert tasked
    assert _frozen(state) == before
    assert any(w.tasked for w in claimed.warnings.values())
    assert not any(w.tasked for w in state.warnings.values())
    later, changed = tick(claimed, T0 + config.quiet_after + timedelta(hours=1), config)
    # the orange one falls back, and the one it suppressed comes back
    assert sorted(a.state for a in changed) == [AlertState.deescalated, AlertState.new]
    assert _frozen(claimed) != _frozen(later)
    assert all(
        later.warnings[a.fingerprint] is not claimed.warnings[a.fingerprint] for a in changed
    )
    busy, _ = fold(later, make_hit(item_code="C"), T0, config)
    quiet, nothing = tick(busy, T0 + timedelta(hours=1), config)
    assert nothing == []
    assert all(quiet.warnings[fp] is w for fp, w in busy.warnings.items())
    assert _frozen(state) == before
