"""Routing, deciding and dedup of notifications (loop/notify/), pure."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loop.notify.config import NotifyConfigError, parse_config
from loop.notify.decide import for_alert, for_supervision, intent_id
from loop.notify.routing import resolve
from schemas.records import AlertState, Level, SupervisionKind, TaskState
from tests.unit.sinks.factories import T0, make_alert, make_supervision, make_task

CONFIG = """
receivers:
  - {name: centre, kind: webhook, url: "http://127.0.0.1:1/h", secret: k}
  - {name: market, kind: wecom, key: w}
  - {name: market_lead, kind: dingtalk, token: t, secret: s}
  - {name: sup_sms, kind: sms, url: "http://127.0.0.1:1/sms", phones: ["13800000000"]}
  - {name: sup_mail, kind: email, host: 127.0.0.1, sender: a@b.cn, to: [c@d.cn]}
route:
  receiver: centre
  group_wait: 10s
  routes:
    - match: {audience: supervisor}
      receiver: sup_sms
      continue: true
    - match: {audience: supervisor}
      receiver: sup_mail
    - match: {audience: lead, department: xihu_market}
      receiver: market_lead
    - match: {department: xihu_market, region: ["3301"]}
      receiver: market
      repeat_interval: 1h
"""
SECRETS = {"k": "key", "w": "wkey", "t": "tok", "s": "sign"}


@pytest.fixture
def cfg():  # type: ignore[no-untyped-def]
    return parse_config(CONFIG, SECRETS)


def test_routes_match_by_level_region_prefix_department_and_audience(cfg) -> None:  # type: ignore[no-untyped-def]
    def to(**labels: str) -> list[str]:
        return [m.receiver for m in resolve(cfg.route, labels)]

    base = {"kind": "warning", "level": "red", "audience": "department"}
    assert to(**base, department="xihu_market", region="330106") == ["market"]
    assert to(**base, department="xihu_market", region="330206") == ["centre"]  # Ningbo
    assert to(**base, department="other", region="330106") == ["centre"]
    assert to(kind="notice", audience="supervisor", department="x") == ["sup_sms", "sup_mail"]
    assert to(kind="notice", audience="lead", department="xihu_market") == ["market_lead"]


def test_a_child_inherits_timings_it_does_not_set(cfg) -> None:  # type: ignore[no-untyped-def]
    (m,) = resolve(cfg.route, {"department": "xihu_market", "region": "330106"})
    assert (m.group_wait, m.repeat_interval, m.group_interval) == (10.0, 3600.0, 300.0)


def test_bad_configs_say_what_is_wrong_without_a_traceback() -> None:
    with pytest.raises(NotifyConfigError, match="secret 'k'.*RISKLOOP_NOTIFY_SECRETS"):
        parse_config(CONFIG, {})
    with pytest.raises(NotifyConfigError, match="'nobody' is not a receiver"):
        parse_config(CONFIG.replace("receiver: market\n", "receiver: nobody\n"), SECRETS)
    with pytest.raises(NotifyConfigError, match="not a duration"):
        parse_config(CONFIG.replace("10s", "ten seconds"), SECRETS)
    with pytest.raises(NotifyConfigError, match="kind"):
        parse_config(CONFIG.replace("kind: wecom", "kind: pager"), SECRETS)
    with pytest.raises(NotifyConfigError, match="routes.3.match.kind"):
        parse_config(
            CONFIG.replace('region: ["3301"]', 'region: ["3301"], kind: warnings'), SECRETS
        )
    with pytest.raises(NotifyConfigError, match="not YAML"):
        parse_config("route: [", SECRETS)


def test_secrets_stay_out_of_the_config_repr(cfg) -> None:  # type: ignore[no-untyped-def]
    assert "wkey" not in repr(cfg)
    assert "wkey" not in cfg.model_dump_json()


def red(**over):  # type: ignore[no-untyped-def]
    return make_alert(1, level=Level.red, state=AlertState.new, region_code="330106", **over)


def test_a_new_red_warning_notifies_its_department_once(cfg) -> None:  # type: ignore[no-untyped-def]
    (i,) = for_alert(red(), "xihu_market", cfg, T0)
    assert (i.receiver, i.step, i.kind, i.department) == ("market", "red", "warning", "xihu_market")
    assert i.due_at == T0 + timedelta(seconds=10)
    again = for_alert(red(), "xihu_market", cfg, T0 + timedelta(minutes=3))
    assert [a.intent_id for a in again] == [i.intent_id]  # decided again: the same key


@pytest.mark.parametrize(
    "over",
    [
        {"shadow": True},
        {"historical": True},
        {"state": AlertState.silenced},
        {"notify": False},
        {"level": Level.orange},
    ],
)
def test_shadow_historical_silenced_quiet_and_lower_warnings_notify_nobody(cfg, over) -> None:  # type: ignore[no-untyped-def]
    alert = red().model_copy(update=over)
    assert for_alert(alert, "xihu_market", cfg, T0) == []


def test_a_still_red_warning_repeats_at_most_once_per_repeat_interval(cfg) -> None:  # type: ignore[no-untyped-def]
    first = red()
    later = first.model_copy(
        update={"state": AlertState.updated, "last_seen": first.first_seen + timedelta(minutes=30)}
    )
    assert for_alert(later, "xihu_market", cfg, T0) == []  # within the hour
    hour = later.model_copy(update={"last_seen": first.first_seen + timedelta(minutes=70)})
    (i,) = for_alert(hour, "xihu_market", cfg, T0)
    assert i.step == "red:repeat:1"


def test_an_unsigned_for_task_escalates_to_lead_and_supervisor(cfg) -> None:  # type: ignore[no-untyped-def]
    task = make_task(1, state=TaskState.dispatched)
    ev = make_supervision(
        task.task_id, 1, kind=SupervisionKind.supervision, deadline=task.sign_deadline
    )
    intents = for_supervision(ev, task, "sign", cfg, T0)
    got = {(i.receiver, i.audience, i.kind) for i in intents}
    assert got == {
        ("market", "department", "sign_escalation"),
        ("market_lead", "lead", "sign_escalation"),
        ("sup_sms", "supervisor", "sign_escalation"),
        ("sup_mail", "supervisor", "sign_escalation"),
    }
    assert len({i.intent_id for i in intents}) == 4


def test_approaching_and_overdue_disposal_reach_department_and_lead_only(cfg) -> None:  # type: ignore[no-untyped-def]
    task = make_task(1, state=TaskState.signed)
    remind = make_supervision(task.task_id, 1, kind=SupervisionKind.reminder)
    assert [(i.receiver, i.kind) for i in for_supervision(remind, task, "dispose", cfg, T0)] == [
        ("market", "deadline_approaching")
    ]
    overdue = make_supervision(task.task_id, 1, kind=SupervisionKind.supervision)
    got = {i.receiver for i in for_supervision(overdue, task, "dispose", cfg, T0)}
    assert got == {"market", "market_lead"}


def test_two_audiences_routed_to_one_receiver_are_one_notification() -> None:
    one = parse_config(
        "receivers: [{name: all, kind: webhook, url: 'http://x', secret: k}]\n"
        "route: {receiver: all}\n",
        {"k": "v"},
    )
    task = make_task(1)
    ev = make_supervision(task.task_id, 1, kind=SupervisionKind.notice)
    assert len(for_supervision(ev, task, "sign", one, T0)) == 1


def test_the_queue_key_is_per_subject_receiver_and_step() -> None:
    ids = {
        intent_id("a", "r", "red"),
        intent_id("a", "r", "red:repeat:1"),
        intent_id("a", "s", "red"),
        intent_id("b", "r", "red"),
    }
    assert len(ids) == 4
    assert intent_id("a", "r", "red") == intent_id("a", "r", "red")


def test_a_tasks_reminders_follow_the_source_of_the_warning_that_opened_it() -> None:
    """A route on ``source`` (the special-equipment section's robot) gets the 催办 of an
    equipment task as it gets equipment warnings; a task from before Task v6 (no source) and
    a task of another source fall through to the default receiver."""
    config = parse_config(
        "receivers:\n"
        "  - {name: centre, kind: webhook, url: 'http://127.0.0.1:1/h', secret: k}\n"
        "  - {name: equipment_desk, kind: wecom, key: w}\n"
        "route:\n"
        "  receiver: centre\n"
        "  routes:\n"
        "    - {match: {source: equipment}, receiver: equipment_desk}\n",
        {"k": "v", "w": "x"},
    )

    def receivers(source: str | None) -> list[str]:
        task = make_task(1, state=TaskState.signed, source=source)
        ev = make_supervision(task.task_id, 1, kind=SupervisionKind.reminder)
        return [i.receiver for i in for_supervision(ev, task, "dispose", config, T0)]

    assert receivers("equipment") == ["equipment_desk"]
    assert receivers("complaints") == ["centre"]
    assert receivers(None) == ["centre"]
    alert = make_alert(1, source="equipment", level=Level.red)
    assert {i.receiver for i in for_alert(alert, "xihu_market", config, T0)} == {"equipment_desk"}


def test_a_reminder_names_the_road_not_the_house_number(cfg) -> None:  # type: ignore[no-untyped-def]
    """The holding department keeps the house number on its task, but a reminder goes to a
    robot's group chat: the address there stops at the road; an unnamed subject known only
    by its address is shown by it, not by its pseudonym."""
    task = make_task(
        1,
        state=TaskState.signed,
        entity="addr-0123456789abcdef0123",
        entity_name=None,
        entity_address="杭州市西湖区文三路531号2幢",
    )
    remind = make_supervision(task.task_id, 1, kind=SupervisionKind.reminder)
    (intent,) = for_supervision(remind, task, "dispose", cfg, T0)
    assert "对象：杭州市西湖区文三路***号*幢" in intent.text
    assert "531" not in intent.text
    assert "addr-" not in intent.text
