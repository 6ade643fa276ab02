"""Provisional deadlines are recounted once their year's notice arrives, with an audit row."""

from __future__ import annotations

from datetime import datetime

from loop.calendar import Basis, parse_year
from loop.deadlines import CST
from loop.loop_config import LoopConfig
from loop.routing import parse_table
from loop.state_machine import open_task, recompute_deadlines
from schemas.records import Alert, Level, TaskState

NOTICE = """\
year: 2027
source: 演练用通知 (a drill notice)
holidays:
  - {name: 元旦, from: 2027-01-01, to: 2027-01-04}
workdays:
  - 2027-01-09
"""

ROUTES = parse_table(
    'routes:\n  - {source: "*", item_code: "*", region: "330100", departments: [hz_market]}\n'
)


def _alert(level: Level = Level.blue, region: str | None = "330106") -> Alert:
    return Alert.model_validate(
        {
            "alert_id": "fp-1.1",
            "fingerprint": "fp-1",
            "level": level,
            "state": "new",
            "title": "测试",
            "source": "inspections",
            "entity": "91330106MA27XXXX0X",
            "item_code": "YJ-ZFJC-001",
            "region_code": region,
            "first_seen": "2026-12-29T02:00:00+00:00",
            "last_seen": "2026-12-29T02:00:00+00:00",
            "reasons": [],
        }
    )


def test_a_provisional_task_is_recounted_when_the_notice_arrives() -> None:
    now = datetime(2026, 12, 29, 10, 0, tzinfo=CST)
    config = LoopConfig()
    case, _ = open_task(_alert(), None, ROUTES, config, now)
    assert case.task.deadline_basis is Basis.provisional
    # 7wd from Tue 29 Dec: 30, 31, (1 Jan off, weekend) 4–8 Jan on the provisional calendar
    assert case.task.dispose_deadline.astimezone(CST).date().isoformat() == "2027-01-08"
    assert recompute_deadlines(case, config, now) == (case, [])  # 2027 still provisional

    notice = config.calendar.with_year(parse_year(NOTICE))
    later = datetime(2026, 12, 30, 9, 0, tzinfo=CST)
    new, events = recompute_deadlines(case, config.model_copy(update={"calendar": notice}), later)
    assert new.task.deadline_basis is Basis.official
    # 4 Jan is off in the notice and Saturday 9 Jan is a 调休 working day
    assert new.task.dispose_deadline.astimezone(CST).date().isoformat() == "2027-01-09"
    assert [(e.from_state, e.to_state) for e in events] == [(TaskState.dispatched,) * 2]
    assert "2027-01-08" in (events[0].reason or "")
    assert "2027-01-09" in (events[0].reason or "")
    assert events[0].at == later
    again = config.model_copy(update={"calendar": notice})
    assert recompute_deadlines(new, again, later) == (new, [])  # once


def test_a_closed_task_is_not_recounted() -> None:
    now = datetime(2026, 12, 29, 10, 0, tzinfo=CST)
    config = LoopConfig()
    case, _ = open_task(_alert(), None, ROUTES, config, now)
    closed = case.model_copy(
        update={"task": case.task.model_copy(update={"state": TaskState.closed})}
    )
    notice = config.model_copy(update={"calendar": config.calendar.with_year(parse_year(NOTICE))})
    assert recompute_deadlines(closed, notice, now) == (closed, [])


def test_an_unroutable_warning_goes_to_the_centre_with_the_reason() -> None:
    now = datetime(2026, 12, 29, 10, 0, tzinfo=CST)
    config = LoopConfig()
    case, events = open_task(_alert(region="110105"), None, ROUTES, config, now)
    assert case.task.department == config.centre
    assert events[-1].to_state is TaskState.dispatched
    assert "no route" in (events[-1].reason or "")
    assert "110105" in (events[-1].reason or "")
