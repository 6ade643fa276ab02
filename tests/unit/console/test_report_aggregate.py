"""The report's numbers on a hand-made day of tasks, each expected value worked out by hand
(in the comments) from the definitions in ``console.reports.aggregate``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from console.reports import aggregate
from console.reports.period import BadPeriod, daily, weekly
from console.reports.records import AlertRow, EventRow, History, TaskRow

DAY = daily("2026-12-01")  # Beijing day = [2026-11-30T16:00Z, 2026-12-01T16:00Z)
END = datetime(2026, 12, 1, 16, tzinfo=UTC)


def at(day: int, hour: int, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def task(tid: str, dept: str, created: datetime, deadline: datetime, alert: str = "") -> TaskRow:
    return TaskRow(
        task_id=tid,
        alert_id=alert or f"{tid}-alert.1",
        department=dept,
        state="dispatched",
        level="red",
        created_at=created,
        sign_deadline=created,
        dispose_deadline=deadline,
    )


def alert(aid: str, level: str, source: str, region: str, first: datetime, **kw) -> AlertRow:  # type: ignore[no-untyped-def]
    return AlertRow(
        alert_id=aid,
        state=kw.pop("state", "new"),
        level=level,
        source=source,
        region_code=region,
        first_seen=first,
        **kw,
    )


class Log:
    """Events in recorded order (``seq`` increasing), as the store hands them back."""

    def __init__(self) -> None:
        self.events: list[EventRow] = []

    def __call__(
        self, tid: str, to: str, when: datetime, dept: str, reason: str | None = None
    ) -> None:
        self.events.append(
            EventRow(
                seq=len(self.events) + 1,
                task_id=tid,
                at=when,
                to_state=to,
                department=dept,
                reason=reason,
            )
        )


def day_history() -> History:
    log = Log()
    # A: hz_market, dispatched 01:00Z, signed 03:00Z (2 h), disposed 07:00Z (6 h), due next day
    log("A", "dispatched", at(1, 1), "hz_market")
    log("A", "signed", at(1, 3), "hz_market")
    log("A", "disposed", at(1, 7), "hz_market", "false_alarm")
    # B: hz_market, from two days before; signed before the day; due 02:00Z on the day, open
    log("B", "dispatched", at(29, 1, 11), "hz_market")
    log("B", "signed", at(29, 5, 11), "hz_market")
    # C: urban, dispatched 02:00Z, signed 06:00Z (4 h), disposed 12:00Z (10 h) after its
    # 10:00Z deadline, closed 13:00Z
    log("C", "dispatched", at(1, 2), "urban")
    log("C", "signed", at(1, 6), "urban")
    log("C", "disposed", at(1, 12), "urban", "属实，已责令整改")
    log("C", "closed", at(1, 13), "urban")
    # D: urban, opened 15:00Z (23:00 Beijing), due in two days: neither done nor overdue
    log("D", "dispatched", at(1, 15), "urban")
    # E: created after the day (01:00 Beijing on 2 Dec): not the day's
    log("E", "dispatched", at(1, 17), "urban")
    tasks = (
        task("A", "hz_market", at(1, 1), at(2, 0), alert="a1"),
        task("B", "hz_market", at(29, 1, 11), at(1, 2)),
        task("C", "urban", at(1, 2), at(1, 10), alert="c1"),
        task("D", "urban", at(1, 15), at(3, 0)),
        task("E", "urban", at(1, 17), at(3, 0)),
    )
    a1 = alert(
        "a1",
        "red",
        "complaints",
        "330106",
        at(1, 0),
        uscc="U1",
        entity_name="甲餐馆",
        occurrences=3,
        state="false_alarm",
        rules=("complaints/r1",),
    )
    c1 = alert(
        "c1",
        "orange",
        "trucks",
        "330106",
        at(1, 1),
        state="resolved",
        rules=("complaints/r1", "trucks/r2"),
    )
    new = (
        a1,
        c1,
        alert("x", "yellow", "complaints", "330105", at(1, 8), uscc="U1", occurrences=2),
        alert("y", "red", "inspections", "330102", at(1, 9), uscc="U2", entity_name="乙公司"),
        alert(
            "old", "red", "inspections", "330102", at(30, 15, 11), uscc="U2"
        ),  # 23:00 the day before
    )
    return History(alerts=new, tasks=tasks, events=tuple(log.events), ended_alerts=(a1, c1))


def test_warnings_by_level_source_region_count_only_the_days_new_ones() -> None:
    r = aggregate.build(day_history(), DAY, now=END, region_names={"330106": "西湖区"})
    assert r.warnings_total == 4  # a1, c1, x, y; "old" was first seen the day before
    assert [(c.key, c.value) for c in r.by_level] == [("red", 2), ("orange", 1), ("yellow", 1)]
    assert [c.label for c in r.by_level] == ["红色", "橙色", "黄色"]
    assert {c.key: c.value for c in r.by_source} == {"complaints": 2, "trucks": 1, "inspections": 1}
    assert r.by_source[0].key == "complaints"  # largest first
    assert [(c.key, c.label, c.value) for c in r.by_region][0] == ("330106", "西湖区", 2)


def test_task_flow_opened_disposed_closed_overdue() -> None:
    flow = aggregate.build(day_history(), DAY, now=END).tasks
    # opened A, C, D (B before, E after); disposed A, C; closed C; overdue B only
    assert (flow.opened, flow.disposed, flow.closed, flow.overdue) == (3, 2, 1, 1)


def test_overdue_of_a_day_not_yet_over_counts_up_to_now() -> None:
    # at 01:00Z B (due 02:00Z) is not overdue yet
    assert aggregate.build(day_history(), DAY, now=at(1, 1)).tasks.overdue == 0


def test_each_departments_on_time_rate_and_clock_hours() -> None:
    stats = {d.department: d for d in aggregate.build(day_history(), DAY, now=END).departments}
    hz, urban = stats["hz_market"], stats["urban"]
    # hz_market: A on time, B overdue and open → 1 / (1 + 1); B's sign-for was the day before
    assert (hz.disposed, hz.on_time, hz.overdue_open) == (1, 1, 1)
    assert hz.on_time_rate == pytest.approx(0.5)
    assert hz.avg_hours_to_sign == pytest.approx(2.0)
    assert hz.avg_hours_to_dispose == pytest.approx(6.0)
    # urban: C late → 0 / 1; signed after 4 h, disposed after 10 h
    assert (urban.disposed, urban.on_time, urban.on_time_rate) == (1, 0, 0.0)
    assert urban.avg_hours_to_sign == pytest.approx(4.0)
    assert urban.avg_hours_to_dispose == pytest.approx(10.0)


def test_a_returned_task_is_timed_from_its_new_dispatch_for_the_new_department() -> None:
    log = Log()
    log("R", "dispatched", at(1, 1), "hz_market")
    log("R", "returned", at(1, 2), "hz_market", "不属于本部门")
    log("R", "dispatched", at(1, 3), "urban", "re-routed after return: 不属于本部门")
    log("R", "signed", at(1, 4), "urban")
    h = History(tasks=(task("R", "urban", at(1, 1), at(2, 0)),), events=tuple(log.events))
    (urban,) = aggregate.build(h, DAY, now=END).departments
    assert (urban.department, urban.avg_hours_to_sign) == ("urban", pytest.approx(1.0))


def test_top_enterprises_by_weighted_risk_and_by_complaint_occurrences() -> None:
    r = aggregate.build(day_history(), DAY, now=END)
    # U1: red a1 (4) + yellow x (2) = 6; U2: red y (4); c1 has no USCC
    assert [(e.uscc, e.score, e.warnings) for e in r.top_risk] == [("U1", 6, 2), ("U2", 4, 1)]
    assert r.top_risk[0].name == "甲餐馆"
    # complaints: a1 3 occurrences + x 2 = 5
    assert [(e.uscc, e.score) for e in r.top_complaints] == [("U1", 5)]


def test_rule_precision_from_the_days_first_disposals() -> None:
    r = aggregate.build(day_history(), DAY, now=END)
    # r1: C confirmed, A false alarm → 1/2; r2: C confirmed → 1/1
    got = {p.name: (p.confirmed, p.false_alarm, p.precision) for p in r.precision}
    assert got == {"complaints/r1": (1, 1, 0.5), "trucks/r2": (1, 0, 1.0)}


def test_model_precision_counts_each_model_version_its_warnings_named() -> None:
    log = Log()
    log("A", "disposed", at(1, 2), "hz_market")
    log("B", "disposed", at(1, 3), "hz_market", "false_alarm")
    log("C", "disposed", at(1, 4), "urban")
    v1, v2 = "equipment-anomaly@v1", "equipment-anomaly@v2"
    ended = (  # a: v1 with a rule, confirmed; b: v1, false alarm; c: v2 alone, confirmed
        alert(
            "a",
            "red",
            "equipment",
            "330106",
            at(1, 0),
            state="resolved",
            rules=("p/r",),
            models=(v1,),
        ),
        alert("b", "orange", "equipment", "330106", at(1, 0), state="false_alarm", models=(v1,)),
        alert("c", "red", "equipment", "330106", at(1, 0), state="resolved", models=(v2,)),
    )
    h = History(
        tasks=tuple(task(t, "hz_market", at(1, 0), at(2, 0), t.lower()) for t in "ABC"),
        events=tuple(log.events),
        ended_alerts=ended,
    )
    r = aggregate.build(h, DAY, now=END)
    got = [(p.name, p.confirmed, p.false_alarm, p.precision) for p in r.model_precision]
    assert got == [(v1, 1, 1, 0.5), (v2, 1, 0, 1.0)]  # the most judged first
    assert [(p.name, p.confirmed) for p in r.precision] == [("p/r", 1)]  # rules apart


def test_not_found_and_a_second_disposal_of_a_reopened_task_add_nothing() -> None:
    log = Log()
    log("N", "disposed", at(1, 2), "hz_market", "not_found")
    log("C", "disposed", at(1, 3), "urban")
    log("C", "reopened", at(1, 4), "risk_centre", "证据不足")
    log("C", "disposed", at(1, 5), "urban")
    ended = (
        alert("n1", "red", "complaints", "330106", at(1, 0), state="resolved", rules=("p/n",)),
        alert("c1", "red", "complaints", "330106", at(1, 0), state="resolved", rules=("p/c",)),
    )
    h = History(
        tasks=(
            task("N", "hz_market", at(1, 0), at(2, 0), "n1"),
            task("C", "urban", at(1, 0), at(2, 0), "c1"),
        ),
        events=tuple(log.events),
        ended_alerts=ended,
    )
    assert [(p.name, p.confirmed) for p in aggregate.build(h, DAY, now=END).precision] == [
        ("p/c", 1)
    ]


def test_an_empty_store_gives_an_empty_report_not_an_error() -> None:
    r = aggregate.build(History(), DAY, now=END)
    assert (r.warnings_total, r.tasks.opened, r.departments, r.precision) == (0, 0, (), ())


def test_periods_are_beijing_days_and_iso_weeks() -> None:
    assert (DAY.start, DAY.end) == (at(30, 16, 11), END)
    week = weekly("2026-W49")
    assert (week.start, week.end) == (at(29, 16, 11), at(6, 16))
    assert weekly("2026-12-06").label == "2026-W49"
    assert weekly("2026-12-07").label == "2026-W50"
    with pytest.raises(BadPeriod, match="YYYY-MM-DD"):
        daily("1/12/2026")
    with pytest.raises(BadPeriod, match="week"):
        weekly("2026-W54")
