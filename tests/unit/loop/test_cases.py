"""One incident, one case, one task — whatever order an enterprise's two topics are read in.

The calendar drills (tests/integration/test_calendar.py) replayed one stream three times and an
orange 检查不合格且存在严重违法项 warning opened its own task in one drill and joined the red
投诉后检查不合格 task in the others. The mechanism: the cross-source sequence rule fires on the
*arrival* that completes its chain (a complaint or an inspection, whichever comes second),
though its hit is named after the chain's last event by event time (the inspection). When the
inspection arrived second, its own orange warning and the red chain warning were due in one call
and joined; when the complaint arrived second, the orange one had opened its own task already
and the red chain warning, due with the complaint's own warnings, opened a third.

These tests feed one enterprise's events in every interleaving that keeps each source's own
order, with the chain hit in the call of whichever of its events arrives second (as the engine
does), and require the same tasks, the same case links and the same task levels.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from itertools import combinations
from typing import TYPE_CHECKING

import pytest

from loop import ids
from loop.cases import raise_level
from loop.state_machine import open_task
from loop.warnings import EntityWarnings, claim_tasks, fold, join_cases
from schemas.hits import RuleHit, TaskTemplate
from schemas.records import Alert, Level, TaskState

from .conftest import ROUTING, T0, USCC

if TYPE_CHECKING:
    from loop.loop_config import LoopConfig

Hit = Callable[..., RuleHit]
Outcome = tuple[frozenset[str], frozenset[tuple[str, str]], frozenset[tuple[str, str]]]


def _own(make_hit: Hit) -> dict[str, list[RuleHit]]:
    """Each event's own hits (rules that read that one event)."""

    def at(event: str, minutes: int, source: str, rule: str, item: str, level: Level) -> RuleHit:
        return make_hit(
            event_id=event,
            event_time=T0 + timedelta(minutes=minutes),
            source=source,
            rule_id=rule,
            item_code=item,
            level=level,
        )

    return {
        "I1": [at("I1", 0, "inspections", "critical_failure", "YJ-ZFJC-001", Level.orange)],
        "C1": [at("C1", 10, "complaints", "food_poisoning", "YJ-TS-001", Level.red)],
        "I2": [
            at("I2", 20, "inspections", "critical_failure", "YJ-ZFJC-001", Level.orange),
            at("I2", 20, "inspections", "repeated_failure", "YJ-ZFJC-002", Level.orange),
        ],
        "C2": [at("C2", 30, "complaints", "surge", "YJ-TS-002", Level.yellow)],
    }


def _chain(make_hit: Hit) -> RuleHit:
    """投诉后检查不合格: complaint C1 then failed inspection I2; named after I2 (the chain's
    last event by event time), whichever of the two arrives second."""
    return make_hit(
        event_id="I2",
        event_time=T0 + timedelta(minutes=20),
        source="inspections",
        rule_id="cross.complaint_then_failed_inspection",
        item_code="YJ-GL-001",
        level=Level.red,
        chained=True,
    )


def _interleavings() -> list[list[str]]:
    """Every order of I1, I2 (inspections) and C1, C2 (complaints) keeping each source's own."""
    out = []
    for slots in combinations(range(4), 2):
        inspections, complaints = iter(["I1", "I2"]), iter(["C1", "C2"])
        out.append([next(inspections) if i in slots else next(complaints) for i in range(4)])
    return out


def _run(order: list[str], make_hit: Hit, config: LoopConfig) -> Outcome:
    """Tasks opened, case links (warning → task) and each task's final level."""
    own, chain = _own(make_hit), _chain(make_hit)
    second = max(order.index("C1"), order.index("I2"))
    state: EntityWarnings | None = None
    opened: set[str] = set()
    links: set[tuple[str, str]] = set()
    levels: dict[str, Level] = {}
    for i, event in enumerate(order):
        alerts = []
        for hit in own[event] + ([chain] if i == second else []):
            state, changed = fold(state, hit, T0, config)
            alerts += changed
        assert state is not None
        state, alerts, upgrades = join_cases(state, alerts, config)
        state, due = claim_tasks(state, alerts, config)
        for alert in due:
            opened.add(ids.task_id(alert.alert_id))
            levels[ids.task_id(alert.alert_id)] = alert.level
        for alert in upgrades:
            assert alert.case_task_id in opened, "an upgrade for a task that never opened"
            if alert.level.rank > levels[alert.case_task_id].rank:
                levels[alert.case_task_id] = alert.level
        links |= {(a.item_code, a.case_task_id) for a in alerts if a.case_task_id}
    named = frozenset((task, level.value) for task, level in levels.items())
    return frozenset(opened), frozenset(links), named


def test_every_interleaving_opens_the_same_tasks_and_cases(
    make_hit: Hit, config: LoopConfig
) -> None:
    orders = _interleavings()
    assert len(orders) == 6
    outcomes = {tuple(order): _run(order, make_hit, config) for order in orders}
    reference = outcomes[("I1", "I2", "C1", "C2")]
    for order, outcome in outcomes.items():
        assert outcome == reference, order
    opened, links, levels = reference
    # I1, C1, I2 and C2 each open one task; the chain joins I2's case and lifts it to red
    assert len(opened) == 4
    (joined,) = links
    assert joined[0] == "YJ-GL-001"
    assert (joined[1], "red") in levels


@pytest.mark.parametrize("order", [["I2", "C1"], ["C1", "I2"]])
def test_the_case_of_an_event_is_led_by_its_own_highest_warning(
    order: list[str], make_hit: Hit, config: LoopConfig
) -> None:
    """Whichever arrives second, the chain warning joins the inspection's case, led by the
    inspection's own highest warning (then the smaller fingerprint), and lifts it to red."""
    own, chain = _own(make_hit), _chain(make_hit)
    state: EntityWarnings | None = None
    upgraded: list[str] = []
    for event in order:
        alerts = []
        for hit in own[event] + ([chain] if event == order[-1] else []):
            state, changed = fold(state, hit, T0, config)
            alerts += changed
        assert state is not None
        state, alerts, upgrades = join_cases(state, alerts, config)
        state, _ = claim_tasks(state, alerts, config)
        upgraded += [a.item_code for a in upgrades]
    assert state is not None
    entity = own["I2"][0].entity
    lead, other = sorted(
        ids.fingerprint("inspections", entity, item) for item in ("YJ-ZFJC-001", "YJ-ZFJC-002")
    )
    case = ids.task_id(f"{lead}.1")
    joined = {w.fingerprint: w.case_task_id for w in state.warnings.values() if w.case_task_id}
    chain_fp = ids.fingerprint("inspections", entity, "YJ-GL-001")
    assert joined == {chain_fp: case, other: case}
    assert upgraded == ["YJ-GL-001"]


def test_a_late_complaint_completing_two_failures_opens_what_time_order_does(
    make_hit: Hit, config: LoopConfig
) -> None:
    """Issue #16's --chaos run of 2026-12-06: failures I1 and I2, each after complaint C0. In
    time order the chain warning is due on I1 (its first hit) and joins I1's case; read with C0
    last, both chain hits come in C0's call and the warning's newest evidence is I2 — it must
    still join I1's case, not raise I2's task (repeated failure, orange) to red."""

    def at(event: str, minutes: int, rule: str, item: str, chained: bool = False) -> RuleHit:
        return make_hit(
            event_id=event,
            event_time=T0 + timedelta(minutes=minutes),
            rule_id=rule,
            item_code=item,
            level=Level.red if chained else Level.orange,
            chained=chained,
        )

    own = {
        "C0": [],
        "I1": [at("I1", 10, "critical_failure", "YJ-ZFJC-001")],
        "I2": [at("I2", 20, "repeated_failure", "YJ-ZFJC-002")],
    }
    chain = {
        e: at(e, m, "cross.complaint_then_failed_inspection", "YJ-GL-001", True)
        for e, m in (("I1", 10), ("I2", 20))
    }

    def run(calls: list[tuple[str, list[str]]]) -> Outcome:
        state: EntityWarnings | None = None
        opened: set[str] = set()
        links: set[tuple[str, str]] = set()
        raised: set[tuple[str, str]] = set()
        for event, chained in calls:
            alerts = []
            for hit in own[event] + [chain[c] for c in chained]:
                state, changed = fold(state, hit, T0, config)
                alerts += changed
            if state is None:  # C0 read first: no hit of its own
                continue
            state, alerts, upgrades = join_cases(state, alerts, config)
            state, due = claim_tasks(state, alerts, config)
            opened |= {ids.task_id(a.alert_id) for a in due}
            raised |= {(a.item_code, str(a.case_task_id)) for a in upgrades}
            links |= {(a.item_code, a.case_task_id) for a in alerts if a.case_task_id}
        return frozenset(opened), frozenset(links), frozenset(raised)

    in_time = run([("C0", []), ("I1", ["I1"]), ("I2", ["I2"])])
    late = run([("I1", []), ("I2", []), ("C0", ["I1", "I2"])])
    assert late == in_time
    opened, links, raised = in_time
    i1_case = ids.task_id(ids.fingerprint("inspections", USCC, "YJ-ZFJC-001") + ".1")
    assert len(opened) == 2
    assert links == {("YJ-GL-001", i1_case)}
    assert raised == {("YJ-GL-001", i1_case)}


def _alert(alert_id: str, level: Level, title: str) -> Alert:
    return Alert.model_validate(
        {
            "alert_id": alert_id,
            "fingerprint": alert_id.rpartition(".")[0],
            "level": level,
            "state": "new",
            "title": title,
            "source": "inspections",
            "entity": USCC,
            "item_code": "YJ-ZFJC-001",
            "region_code": "330106",
            "first_seen": T0.isoformat(),
            "last_seen": T0.isoformat(),
            "reasons": [],
        }
    )


def test_a_more_urgent_warning_joining_a_case_raises_its_task_once(config: LoopConfig) -> None:
    """The chain warning (red, sign within 30 minutes) joins the orange task an hour after it
    opened: the same task turns red, with deadlines no later than the red warning's own, its
    checklist added and one audit event; a repeated command, a lower one or a done task: none."""
    lead = _alert("fp-lead.1", Level.orange, "检查不合格且存在严重违法项")
    case, _ = open_task(lead, None, ROUTING, config, T0)
    later = T0 + timedelta(hours=1)
    red = _alert("fp-chain.1", Level.red, "投诉后检查不合格（同一企业30日内）").model_copy(
        update={"case_task_id": case.task_id}
    )
    template = TaskTemplate(
        department="market_supervision",
        checklist=["核查投诉事项与检查问题的关联"],
        required_evidence=["处罚决定书"],
        sign_deadline="30m",
        dispose_deadline="2h",
    )
    raised, (event,) = raise_level(case, red, template, config, later)
    task = raised.task
    assert (task.task_id, task.level, task.department, task.state) == (
        case.task_id,
        Level.red,
        case.task.department,
        case.task.state,
    )
    assert task.sign_deadline == later + timedelta(minutes=30) < case.task.sign_deadline
    assert task.dispose_deadline == later + timedelta(hours=2) < case.task.dispose_deadline
    assert (raised.sign_started, raised.sign_spec) == (later, "30m")
    assert task.checklist[-1] == "核查投诉事项与检查问题的关联"
    assert task.required_evidence.count("处罚决定书") == 1
    assert task.title == lead.title
    assert task.alert_id == lead.alert_id
    assert event.from_state == event.to_state == case.task.state
    assert event.reason
    assert "orange→red" in event.reason
    assert "fp-chain.1" in event.reason
    assert raise_level(raised, red, template, config, later) == (raised, [])
    yellow = red.model_copy(update={"level": Level.yellow})
    assert raise_level(case, yellow, None, config, later) == (case, [])
    done = case.model_copy(
        update={"task": case.task.model_copy(update={"state": TaskState.closed})}
    )
    assert raise_level(done, red, template, config, later) == (done, [])
