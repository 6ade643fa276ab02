"""Issue #17, safe silences, on the real broker with a real worker and `riskloop silence`:
a maintenance silence on an elevator silences its door-fault warning but not its 困人
(trapped-passenger) alarm, which still gets its task; the CLI shows what a silence would hit
before it applies, refuses an unknown source, and refuses to silence safety alarms without a
second person's approval. The same alarm's detail — `GET /api/warnings/{id}`, `GET /api/tasks`,
`riskloop alerts show`, `riskloop tasks list` — carries its task, Beijing times and full ids,
and unknown query parameters are refused."""

from __future__ import annotations

import json
import random
import re
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests

from loop import ids
from tests.integration.conftest import collect, produce, tail_consumer, wait_ready
from tests.integration.test_silence_expiry import riskloop
from tests.people import auth

if TYPE_CHECKING:
    from config.settings import Settings


def _reading(code: str, n: int, at: datetime, **changes: Any) -> bytes:
    event = {
        "event_id": f"{code}-{n}",
        "event_time": at.isoformat(),
        "equipment_code": code,
        "equipment_type": "elevator",
        "uscc": "91330106YCE778TP1L",
        "region_code": "330106",
        "metrics": {"vibration": 0.3, "current": 12.0, "speed": 1.5, "load": 300.0},
        "units": {"vibration": "g", "current": "A", "speed": "m/s", "load": "kg"},
        "rated": {"load": 1000.0, "speed": 1.75},
        "door_faults": 0,
        "trapped": False,
        **changes,
    }
    return json.dumps(event, ensure_ascii=False).encode()


def _wait_accepted(s: Settings, status: Any, silence_id: str) -> None:
    got = collect(status, lambda got: any(r["name"] == silence_id for _, r in got), timeout=60)
    mine = [r for _, r in got if r["name"] == silence_id and r["worker"].startswith(s.app_id)]
    assert mine, mine
    assert mine[0]["status"] == "accepted", mine


def test_elevator_silence_does_not_swallow_its_trapped_alarm(
    live_settings: Settings, worker
) -> None:  # type: ignore[no-untyped-def]
    s = live_settings
    code = f"31103301{random.randrange(10**12):012d}"
    typo = riskloop(
        s, "silence", "add", "--source", "equipments", "--reason", "维保", "--by", "zhang"
    )
    assert typo.returncode == 1, typo.stderr
    assert "did you mean 'equipment'" in typo.stderr, typo.stderr
    alone = riskloop(
        s, "silence", "add", "--entity", code, "--safety", "--reason", "维保", "--by", "zhang"
    )
    assert alone.returncode == 1, alone.stderr
    assert "second person" in alone.stderr, alone.stderr
    self_ok = riskloop(
        s,
        "silence",
        "add",
        "--entity",
        code,
        "--safety",
        "--approved-by",
        "zhang",
        "--reason",
        "维保",
        "--by",
        "zhang",
    )
    assert self_ok.returncode == 1, self_ok.stderr
    assert "not the creator" in self_ok.stderr, self_ok.stderr
    assert "Traceback" not in typo.stderr + alone.stderr + self_ok.stderr

    proc = worker()
    wait_ready(proc, f"http://127.0.0.1:{s.web_port}", timeout=90)
    status = tail_consumer(s.bootstrap_servers, [s.topics.status])
    added = riskloop(s, "silence", "add", "--entity", code, "--reason", "电梯维保", "--by", "zhang")
    assert added.returncode == 0, added.stderr
    assert "would silence 0 live warning(s)" in added.stdout, added.stdout
    found = re.search(r"silence (sil-[0-9a-f]+) until", added.stdout)
    assert found is not None, added.stdout
    _wait_accepted(s, status, found[1])

    out = tail_consumer(s.bootstrap_servers, [s.topics.alerts, s.topics.task_commands])
    now = datetime.now(UTC)
    readings = [_reading(code, i, now - timedelta(minutes=10 - i), door_faults=2) for i in range(3)]
    readings.append(_reading(code, 9, now - timedelta(minutes=1), trapped=True))
    produce(s.bootstrap_servers, s.topics.equipment, [(code.encode(), r) for r in readings])

    def done(got: list[tuple[str, dict[str, Any]]]) -> bool:
        items = {a["item_code"] for t, a in got if t == s.topics.alerts}
        tasked = [c for t, c in got if t == s.topics.task_commands]
        return {"YJ-TZSB-001", "YJ-TZSB-002"} <= items and bool(tasked)

    got = collect(out, done, timeout=90)
    alerts = [a for t, a in got if t == s.topics.alerts and a["entity"] == code]
    trapped = [a for a in alerts if a["item_code"] == "YJ-TZSB-001"]
    doors = [a for a in alerts if a["item_code"] == "YJ-TZSB-002"]
    assert doors, doors
    assert all(a["state"] == "silenced" for a in doors), doors  # the silence works
    assert trapped, trapped
    assert all(a["state"] != "silenced" and a["safety"] for a in trapped), trapped
    assert trapped[0]["level"] == "red"
    commands = [c for t, c in got if t == s.topics.task_commands]
    assert {c["alert"]["alert_id"] for c in commands} == {trapped[0]["alert_id"]}

    # the preview, now that the store holds both: the 困人 alarm is named as spared
    deadline = time.monotonic() + 60
    while True:
        shown = riskloop(
            s, "silence", "add", "--entity", code, "--reason", "再次维保", "--by", "li", "--preview"
        )
        assert shown.returncode == 0, shown.stderr
        if "would NOT silence 1 safety alarm" in shown.stdout or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert "would NOT silence 1 safety alarm" in shown.stdout, shown.stdout
    assert trapped[0]["alert_id"] in shown.stdout
    assert "not published" in shown.stdout

    # detail where people look: the alarm's warning with its task, by API and CLI
    alert_id = trapped[0]["alert_id"]
    base = f"http://127.0.0.1:{s.web_port}"
    centre = auth(s, "supervisor")  # the risk centre sees every department's tasks
    task_id = ids.task_id(alert_id)
    deadline = time.monotonic() + 60
    while True:
        detail = requests.get(f"{base}/api/warnings/{alert_id}", headers=centre, timeout=10)
        if detail.status_code == 200 and detail.json()["task"] or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["warning"]["alert_id"] == alert_id
    assert body["warning"]["safety"]
    assert body["warning"]["first_seen"].endswith("+08:00"), body["warning"]["first_seen"]
    assert body["task"]["task"]["task_id"] == task_id
    assert body["task"]["events"]
    department = body["task"]["task"]["department"]
    listed = requests.get(
        f"{base}/api/tasks", params={"department": department}, headers=centre, timeout=10
    )
    assert listed.status_code == 200
    assert task_id in {t["task_id"] for t in listed.json()["tasks"]}
    for path, bad in (
        ("/api/tasks", {"departmnet": department}),
        ("/api/warnings", {"department": department}),
        (f"/api/warnings/{alert_id}", {"x": "1"}),
    ):
        refused = requests.get(f"{base}{path}", params=bad, headers=centre, timeout=10)
        assert refused.status_code == 400, path
        assert "unknown query parameter" in refused.text, path
    assert (
        requests.get(f"{base}/api/warnings/fp-nope.1", headers=centre, timeout=10).status_code
        == 404
    )
    show = riskloop(s, "alerts", "show", alert_id)
    assert show.returncode == 0, show.stderr
    assert task_id in show.stdout, show.stdout
    assert "equipment.elevator_trapped" in show.stdout, show.stdout
    assert "+08:00" in show.stdout
    assert "safety alarm" in show.stdout
    tasks = riskloop(s, "tasks", "list", "--department", department)
    assert tasks.returncode == 0, tasks.stdout
    assert task_id in tasks.stdout, tasks.stdout
    missing = riskloop(s, "alerts", "show", "fp-nope.1")
    assert missing.returncode == 1
    assert "no warning fp-nope.1" in missing.stderr
