"""Extensions (延期) through a real worker's API, broker and task store.

The department holding a signed task asks; a date in the past is a 422 with the state
machine's reason and changes nothing; a working day after the deadline waits on the task; the
department cannot grant itself the time (403, nothing sent); the risk centre's supervisor
grants it and the task's dispose deadline is the day asked for, with every step in its story.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests

from loop.deadlines import CST, default_calendar
from tests.integration.conftest import produce, wait_ready
from tests.integration.test_jurisdiction import HZ_DEPARTMENT, failed_inspection, get, wait_for
from tests.people import auth

if TYPE_CHECKING:
    from collections.abc import Callable

    from config.settings import Settings


def working_day_after(moment: datetime, days: int) -> date:
    """The ``days``-th working day after ``moment``'s CST date."""
    day, cal = moment.astimezone(CST).date(), default_calendar()
    while days:
        day += timedelta(days=1)
        days -= cal.is_workday(day)
    return day


def test_an_extension_asked_refused_asked_and_granted(
    live_settings: Settings, worker: Callable[..., Any]
) -> None:
    s = live_settings
    base = f"http://127.0.0.1:{s.web_port}"
    wait_ready(worker(s), base)
    key, value = failed_inspection(uuid.uuid4().hex[:8], "330106")
    produce(s.bootstrap_servers, s.topics.inspections, [(key, value)])

    def stored() -> dict[str, Any] | None:
        tasks = get(s, "supervisor", "/api/tasks", limit="1000").json()["tasks"]
        return next((t for t in tasks if t["entity"] == key.decode()), None)

    task = wait_for("the task", stored, timeout=180)
    assert task["department"] == HZ_DEPARTMENT
    url = f"{base}/api/tasks/{task['task_id']}/dispositions"

    def send(who: str, body: dict[str, Any]) -> requests.Response:
        return requests.post(url, json=body, headers=auth(s, who), timeout=90)

    def story() -> dict[str, Any]:
        full = get(s, "supervisor", f"/api/tasks/{task['task_id']}").json()
        return {"task": full["task"], "events": full["events"]}

    assert send("hz_food_handler", {"action": "sign"}).status_code == 200
    signed = wait_for("the signed row", lambda: (st := story())["task"]["state"] == "signed" and st)
    past = (datetime.now(UTC) - timedelta(days=3)).astimezone(CST).date().isoformat()
    r = send("hz_food_handler", {"action": "extend", "reason": "需联合检查", "extend_to": past})
    assert r.status_code == 422, r.text
    assert "bad_extension" in r.json()["error"], r.text
    assert story() == signed

    wanted = working_day_after(datetime.fromisoformat(task["dispose_deadline"]), 3)
    r = send(
        "hz_food_handler",
        {"action": "extend", "reason": "需联合检查", "extend_to": wanted.isoformat()},
    )
    assert r.status_code == 200, r.text
    assert r.json()["verdict"]["outcome"] == "applied", r.text
    r = send("hz_food_handler", {"action": "grant_extension"})
    assert r.status_code == 403
    assert "only the risk centre" in r.json()["error"]
    r = send("supervisor", {"action": "grant_extension", "reason": "同意"})
    assert r.status_code == 200, r.text
    assert r.json()["verdict"]["outcome"] == "applied", r.text

    def granted() -> dict[str, Any] | None:
        st = story()
        return st if st["task"]["extensions"] == 1 else None

    after = wait_for("the granted deadline in the store", granted, timeout=60)
    assert (
        datetime.fromisoformat(after["task"]["dispose_deadline"]).astimezone(CST).date() == wanted
    )
    reasons = [e["reason"] for e in after["events"]]
    assert f"extension asked to {wanted.isoformat()}: 需联合检查" in reasons
    assert any(r and r.startswith("extension granted") for r in reasons)
