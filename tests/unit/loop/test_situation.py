"""The wall's numbers (loop.situation): tallies, deadlines raced, today against the week."""

from __future__ import annotations

from datetime import timedelta

from loop.situation import desk, is_live_news, tally, task_load, trend
from schemas.records import AlertState, Level, TaskState
from tests.unit.sinks.factories import T0, make_alert, make_task


def test_tally_counts_live_warnings_four_ways_and_skips_ended_ones() -> None:
    alerts = [
        make_alert(1, level=Level.red, source="complaints", region_code="330105"),
        make_alert(2, level=Level.red, source="complaints", region_code="330106"),
        make_alert(3, level=Level.yellow, state=AlertState.escalated),
        make_alert(4, level=Level.red, state=AlertState.resolved),
        make_alert(5, level=Level.orange, region_code=None),
    ]
    t = tally(alerts)
    assert t.total == 4
    assert t.by_level == [("red", 2), ("orange", 1), ("yellow", 1), ("blue", 0)]
    assert t.by_source[0] == ("complaints", 2)
    assert dict(t.by_region) == {"330106": 2, "330105": 1, "—": 1}
    assert dict(t.by_state) == {"new": 3, "escalated": 1}


def test_task_load_races_the_sign_deadline_then_the_disposal_one() -> None:
    now = T0 + timedelta(hours=5)  # sign deadline (T0+4h) passed, disposal (T0+1d) within a day
    tasks = [
        make_task(1, state=TaskState.dispatched),  # waiting to be signed: overdue
        make_task(2, state=TaskState.signed),  # signed: disposal due within 24 h
        make_task(3, state=TaskState.closed),  # no clock
        make_task(
            4, state=TaskState.signed, department="b", dispose_deadline=T0 + timedelta(days=5)
        ),
    ]
    rows = {r.department: r for r in task_load(tasks, now)}
    assert (
        rows["xihu_market"].open,
        rows["xihu_market"].due_soon,
        rows["xihu_market"].overdue,
    ) == (2, 1, 1)
    assert (rows["b"].open, rows["b"].due_soon, rows["b"].overdue) == (1, 0, 0)
    assert next(iter(task_load(tasks, now))).department == "xihu_market"  # most overdue first


def test_the_desk_counts_where_tasks_stand_and_lists_the_soonest_deadlines_first() -> None:
    now = T0 + timedelta(hours=5)  # sign deadlines (T0+4h) passed; disposals (T0+1d) within a day
    tasks = [
        make_task(1, state=TaskState.dispatched),  # to sign, overdue since T0+4h
        make_task(2, state=TaskState.signed),  # in hand, due at T0+1d
        make_task(3, state=TaskState.in_progress, dispose_deadline=T0 + timedelta(days=3)),
        make_task(4, state=TaskState.returned),  # given back: the centre's, no clock
        make_task(5, state=TaskState.closed),  # done
        make_task(6, state=TaskState.reopened, sign_deadline=T0 + timedelta(hours=6)),
    ]
    alerts = [
        make_alert(1, level=Level.red),
        make_alert(2, level=Level.orange, state=AlertState.escalated),
        make_alert(3, level=Level.yellow),  # not red or orange: counted on the wall, not here
        make_alert(4, level=Level.red, state=AlertState.false_alarm),  # ended
    ]
    d = desk(tasks, alerts, now, shown=3)
    assert (d.to_sign, d.in_hand, d.due_soon, d.overdue, d.with_centre) == (2, 2, 2, 1, 1)
    assert [t.task_id for t, _ in d.next_tasks] == ["task-1", "task-6", "task-2"]
    assert d.next_tasks[0][1] == T0 + timedelta(hours=4)  # the sign-for deadline it races
    assert d.live == 2
    assert [a.alert_id for a in d.latest] == ["fp-2.1", "fp-1.1"]  # newest first


def test_trend_counts_beijing_days_and_compares_today_with_the_week() -> None:
    now = T0  # 2024-06-03 09:00 Beijing
    alerts = [
        make_alert(1, first_seen=T0 - timedelta(hours=2)),  # 07:00 Beijing today
        make_alert(2, first_seen=T0 - timedelta(hours=9, minutes=30)),  # 23:30 the day before
        make_alert(3, first_seen=T0 - timedelta(days=3)),
        make_alert(4, first_seen=T0 - timedelta(days=30)),  # outside the window
    ]
    tr = trend(alerts, now)
    assert len(tr.days) == 8
    assert tr.days[-1][0].isoformat() == "2024-06-03"
    assert tr.today == 1
    assert tr.days[-2][1] == 1
    assert tr.days[-4][1] == 1
    assert tr.average == 2 / 7
    assert tr.ratio == 3.5


def test_only_new_or_raised_red_and_orange_warnings_go_to_the_wall() -> None:
    assert is_live_news(make_alert(level=Level.red))
    assert is_live_news(make_alert(level=Level.orange, state=AlertState.escalated))
    assert not is_live_news(make_alert(level=Level.yellow))
    assert not is_live_news(make_alert(level=Level.red, state=AlertState.updated))
    assert not is_live_news(make_alert(level=Level.red, notify=False))
    assert not is_live_news(make_alert(level=Level.red, historical=True))
