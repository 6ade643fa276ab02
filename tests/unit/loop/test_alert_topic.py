"""What the alerts topic carries (loop/alert_topic.py): notified records and moves of state,
level or case, in brief; a count going up between notices stays in SQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from loop.alert_topic import brief, to_publish
from loop.loop_config import LoopConfig
from loop.warnings import EntityWarnings, fold
from schemas.hits import RuleHit
from schemas.records import AlertState

from .conftest import T0

Hit = Callable[..., RuleHit]


def test_repeats_between_notices_are_not_republished(make_hit: Hit) -> None:
    config = LoopConfig(escalate_after=0)
    state: EntityWarnings | None = None
    published = []
    for i in range(6):
        state, alerts = fold(state, make_hit(event_id=f"e{i}"), T0 + timedelta(minutes=i), config)
        state, out = to_publish(state, alerts)
        published += out
    assert [a.state for a in published] == [AlertState.new]
    assert published[0].occurrences == 1
    # the sixth record was held back from the topic, and the state remembers what it carried
    assert state is not None
    (w,) = state.warnings.values()
    assert w.occurrences == 6
    assert w.published.startswith("active|yellow||live|rule:")
    # a redone call on the same state decides the same
    again, (a,) = fold(state, make_hit(event_id="e9"), T0 + timedelta(minutes=9), config)
    assert to_publish(again, [a])[1] == to_publish(again, [a])[1] == []


def test_a_level_change_is_published(make_hit: Hit) -> None:
    config = LoopConfig(escalate_after=3, window="1h", max_escalations=1)
    state: EntityWarnings | None = None
    states = []
    for i in range(3):
        state, alerts = fold(state, make_hit(event_id=f"e{i}"), T0 + timedelta(minutes=i), config)
        state, out = to_publish(state, alerts)
        states += [a.state for a in out]
    assert states == [AlertState.new, AlertState.escalated]


def test_brief_drops_the_records_sql_keeps(make_hit: Hit, config: LoopConfig) -> None:
    _, (alert,) = fold(None, make_hit(), T0, config)
    assert alert.evidence_records
    assert alert.history
    short = brief(alert)
    assert short.evidence_records == []
    assert short.history == []
    assert short.evidence == alert.evidence
    assert short.reasons == alert.reasons
    assert len(short.model_dump_json()) < len(alert.model_dump_json())
