"""Issue #17, detail where people look: warnings and tasks say who, where and what, through the
real agents (inspections, complaints, tasks) in Faust's test context.

* a warning on an inspected enterprise carries the business name and address the inspection
  gave, and so does its task;
* a later warning on the same enterprise from a complaint that names nobody keeps them;
* the alerts topic is widely read: its addresses stop at the road (issue #19), the task, read
  by the department handling it, keeps the house number;
* a task opened from a complaint carries the complaint's subject and text, the mobile and ID
  numbers dictated into it masked;
* the warning carries its evidence events in brief (time, source, the values that fired) and
  its notified changes (in SQL; the alerts topic's record leaves both out).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from schemas.validation.pii import mask_address
from streams.handle import WARNINGS, load
from tests.streams.conftest import on_topic
from tests.streams.test_redelivery import _inspect
from tests.streams.test_skeleton import encode, inspection

if TYPE_CHECKING:
    from streams.app import RiskLoopApp
    from tests.streams.conftest import Sent

USCC = "91330105TM3Y1WWJAN"
NAME = "杭州老杭帮餐饮有限公司"
ADDRESS = "杭州市拱墅区文三路531号"
ON_ALERTS = "杭州市拱墅区文三路***号"


def complaint(**overrides: Any) -> dict[str, Any]:
    at = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    return {
        "event_id": "cmp-detail-1",
        "event_time": at,
        "channel": "12315",
        "text": "就餐后呕吐、腹泻，怀疑食物中毒，请回电13859217612，身份证330105199003071234",
        "subject": "食品安全投诉",
        "category": "食品安全",
        "urgency": "urgent",
        "uscc": USCC,
        "region_code": "330105",
        **overrides,
    }


async def _complain(app: RiskLoopApp, ev: dict[str, Any]) -> None:
    async with app.agents["complaints"].test_context() as agent:
        await agent.put(encode(ev), key=ev["uscc"].encode())


async def _open_tasks(app: RiskLoopApp, sent: Sent) -> list[dict[str, Any]]:
    commands = [(k, v) for t, k, v in sent.messages if t == "riskloop.task-commands"]
    assert commands
    async with app.agents["tasks"].test_context() as tasks:
        on_topic(tasks, app.worker.topics.task_commands.get_topic_name())
        for key, value in commands:
            await tasks.put(value, key=key)
    raw = (
        json.loads(v) for t, _, v in sent.messages if t.startswith("tasks.") and t != "tasks.events"
    )
    return [task for task in raw if "alert_id" in task]


async def test_inspected_enterprise_named_on_warning_and_task(app: RiskLoopApp, sent: Sent) -> None:
    await _inspect(app, inspection(uscc=USCC, entity_name=NAME, address=ADDRESS))
    alerts = sent.on("alerts")
    assert alerts
    assert {(a["entity_name"], a["entity_address"]) for a in alerts} == {(NAME, ON_ALERTS)}
    # the SQL record (what the API and `riskloop alerts show` read) carries the evidence in
    # brief and the notified changes; the alerts topic carries neither (loop/alert_topic.py)
    assert all(a["evidence_records"] == [] and a["history"] == [] for a in alerts)
    state = load(app.worker, WARNINGS, USCC)
    assert state is not None
    stored = state.warnings[alerts[-1]["fingerprint"]].to_alert()
    records = stored.evidence_records
    assert records
    assert records[-1].source == "inspections"
    assert records[-1].reason.startswith("rule:")
    assert records[-1].values  # the values that fired
    assert stored.history[0].state.value == "new"
    tasks = await _open_tasks(app, sent)
    assert tasks
    assert all(t["entity_name"] == NAME and t["entity_address"] == ADDRESS for t in tasks)
    assert all(t["complaint_text"] is None for t in tasks)


async def test_complaint_task_carries_masked_text_and_the_known_name(
    app: RiskLoopApp, sent: Sent
) -> None:
    await _inspect(app, inspection(uscc=USCC, entity_name=NAME, address=ADDRESS))
    sent.messages.clear()
    await _complain(app, complaint())  # names no enterprise, gives no address
    alerts = [a for a in sent.on("alerts") if a["source"] == "complaints"]
    assert alerts
    poisoning = [
        a for a in alerts if any(r["id"] == "complaints.food_poisoning" for r in a["reasons"])
    ]
    assert poisoning, [r["id"] for a in alerts for r in a["reasons"]]
    assert all(a["entity_name"] == NAME and a["entity_address"] == ON_ALERTS for a in alerts)
    tasks = [t for t in await _open_tasks(app, sent) if t["alert_id"] == poisoning[0]["alert_id"]]
    assert tasks
    text = tasks[0]["complaint_text"]
    assert text.startswith("食品安全投诉：就餐后呕吐")
    assert "138****7612" in text
    assert "3301**********1234" in text
    assert "13859217612" not in text
    assert "199003071234" not in text
    assert tasks[0]["entity_name"] == NAME


async def test_a_complaint_naming_a_new_address_updates_it(app: RiskLoopApp, sent: Sent) -> None:
    await _inspect(app, inspection(uscc=USCC, entity_name=NAME, address=ADDRESS))
    sent.messages.clear()
    await _complain(app, complaint(address="杭州市拱墅区莫干山路1号", entity_name=NAME + "分店"))
    alerts = [a for a in sent.on("alerts") if a["source"] == "complaints"]
    assert alerts
    assert (
        alerts[-1]["entity_address"]
        == mask_address("杭州市拱墅区莫干山路1号")
        == "杭州市拱墅区莫干山路*号"
    )
    assert alerts[-1]["entity_name"] == NAME + "分店"
