"""People, not shared tokens (issue #19), on a real worker, broker and task store.

Two failed inspections — one in Hangzhou (330106, routed to hz_market_food), one in Ningbo
(330206, to the province's intake zj_risk_centre_intake) — then each person asks the API with a
token naming them: a department sees its own task only, and a disposition on another
department's task is a 403 that sends nothing and changes nothing; Hangzhou's staff do not see
Ningbo's warning, nor Ningbo's Hangzhou's; a disposition's audit row names the token's person,
whatever actor the client would have liked to write.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import requests

from tests.integration.conftest import failed_inspection_record, produce, wait_ready
from tests.integration.test_api import end_offsets
from tests.people import PEOPLE, auth

if TYPE_CHECKING:
    from collections.abc import Callable

    from config.settings import Settings

HZ_DEPARTMENT = "hz_market_food"  # config/routing.yaml: inspections YJ-ZFJC-* in 330100
ZJ_DEPARTMENT = "zj_risk_centre_intake"  # the province's last resort: Ningbo has no route


def failed_inspection(run: str, region: str) -> tuple[bytes, bytes]:
    return failed_inspection_record(f"jur-{run}-{region}", region)


def get(s: Settings, who: str, path: str, **params: str) -> requests.Response:
    return requests.get(
        f"http://127.0.0.1:{s.web_port}{path}", params=params, headers=auth(s, who), timeout=10
    )


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.5)
    return found


def test_departments_and_regions_see_and_touch_only_their_own(
    live_settings: Settings, worker: Callable[..., Any]
) -> None:
    s = live_settings
    base = f"http://127.0.0.1:{s.web_port}"
    wait_ready(worker(s), base)
    run = uuid.uuid4().hex[:8]
    hz, nb = failed_inspection(run, "330106"), failed_inspection(run, "330206")
    produce(s.bootstrap_servers, s.topics.inspections, [hz, nb])
    hz_uscc, nb_uscc = hz[0].decode(), nb[0].decode()

    def tasks_by_entity() -> dict[str, dict[str, Any]] | None:
        r = get(s, "supervisor", "/api/tasks", limit="1000")
        found = {t["entity"]: t for t in r.json()["tasks"] if t["entity"] in (hz_uscc, nb_uscc)}
        return found if len(found) == 2 else None

    tasks = wait_for("both tasks in the store", tasks_by_entity)
    hz_task, nb_task = tasks[hz_uscc], tasks[nb_uscc]
    assert (hz_task["department"], nb_task["department"]) == (HZ_DEPARTMENT, ZJ_DEPARTMENT)

    # -- a department sees its own tasks only
    own = get(s, "hz_food_handler", "/api/tasks", limit="1000").json()["tasks"]
    assert {t["department"] for t in own} == {HZ_DEPARTMENT}
    assert hz_task["task_id"] in {t["task_id"] for t in own}
    assert get(s, "hz_food_handler", "/api/tasks", department=ZJ_DEPARTMENT).status_code == 403
    assert get(s, "hz_food_handler", f"/api/tasks/{nb_task['task_id']}").status_code == 403
    assert get(s, "hz_food_handler", f"/api/tasks/{hz_task['task_id']}").status_code == 200
    assert requests.get(f"{base}/api/tasks", timeout=10).status_code == 401

    # -- nor touches another department's: 403, nothing sent, the task as it was
    before_story = get(s, "supervisor", f"/api/tasks/{hz_task['task_id']}").json()
    before_offsets = end_offsets(s)
    for body in ({"action": "sign"}, {"action": "sign", "department": HZ_DEPARTMENT}):
        r = requests.post(
            f"{base}/api/tasks/{hz_task['task_id']}/dispositions",
            json=body,
            headers=auth(s, "zj_intake_handler"),
            timeout=30,
        )
        assert r.status_code == 403, r.text
        assert set(r.json()) == {"error"}
    time.sleep(2)  # a record sent by mistake would have been applied by now
    assert end_offsets(s) == before_offsets
    after_story = get(s, "supervisor", f"/api/tasks/{hz_task['task_id']}").json()
    assert after_story == before_story
    assert after_story["task"]["state"] == "dispatched"

    # -- staff see the warnings of their region only (3301 Hangzhou, 3302 Ningbo)
    def warnings(who: str) -> dict[str, dict[str, Any]]:
        listed = get(s, who, "/api/warnings", limit="1000").json()["warnings"]
        return {w["entity"]: w for w in listed}

    everything = wait_for(
        "both warnings",
        lambda: (w := warnings("supervisor")) and {hz_uscc, nb_uscc} <= set(w) and w,
    )
    hz_seen, nb_seen = warnings("hz_staff"), warnings("nb_staff")
    assert hz_uscc in hz_seen
    assert nb_uscc not in hz_seen
    assert nb_uscc in nb_seen
    assert hz_uscc not in nb_seen
    assert all(w["region_code"].startswith("3301") for w in hz_seen.values())
    assert all(w["region_code"].startswith("3302") for w in nb_seen.values())
    nb_alert, hz_alert = everything[nb_uscc]["alert_id"], everything[hz_uscc]["alert_id"]
    assert get(s, "hz_staff", f"/api/warnings/{nb_alert}").status_code == 403
    assert get(s, "hz_staff", f"/api/warnings/{hz_alert}").status_code == 200
    assert get(s, "hz_staff", "/api/warnings", region="3302").status_code == 403

    # -- the audit row names the token's person, not an actor a client writes
    r = requests.post(
        f"{base}/api/tasks/{hz_task['task_id']}/dispositions",
        json={"action": "sign", "actor": "someone-else"},
        headers=auth(s, "hz_food_handler"),
        timeout=30,
    )
    assert r.status_code == 403
    assert "is not you" in r.json()["error"]
    r = requests.post(
        f"{base}/api/tasks/{hz_task['task_id']}/dispositions",
        json={"action": "sign"},
        headers=auth(s, "hz_food_handler"),
        timeout=60,
    )
    assert r.status_code == 200, r.text
    assert r.json()["verdict"]["outcome"] == "applied"
    person = PEOPLE["hz_food_handler"]

    def signed_row() -> dict[str, Any] | None:
        story = get(s, "hz_food_handler", f"/api/tasks/{hz_task['task_id']}").json()
        rows = [e for e in story["events"] if e["to_state"] == "signed"]
        return rows[0] if rows else None

    row = wait_for("the audit row of the sign", signed_row, timeout=60)
    assert row["actor"] == person.actor == f"{person.name} <{person.sub}>"
    assert row["department"] == HZ_DEPARTMENT
