"""The workbench's pure parts: one list line per task, and the task page from a worker's story
(every field a worker of this version sends; hostile text stays text)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from console.pages.workbench import ACTIONS, MARKS, RESULTS, STATES, WARNING_STATES, _row
from console.render import environment
from tests.people import PEOPLE

NOW = datetime(2024, 6, 3, 1, 0, tzinfo=UTC)  # Monday 09:00 CST
HOSTILE = "<script>alert(1)</script>"


def task(state: str, **over: Any) -> dict[str, Any]:
    base = {
        "task_id": "task-1",
        "alert_id": "fp-1.1",
        "department": "hz_market",
        "state": state,
        "level": "orange",
        "title": "检查不合格",
        "entity": "91330106MA27XXXX0X",
        "entity_name": HOSTILE,
        "entity_address": None,
        "complaint_text": None,
        "checklist": ["核实"],
        "required_evidence": ["现场照片"],
        "sign_deadline": (NOW + timedelta(hours=4)).isoformat(),
        "dispose_deadline": "2024-06-05T23:59:59+08:00",
        "evidence": [],
        "extension_to": None,
        "extension_reason": None,
        "extensions": 0,
    }
    return {**base, **over}


def test_the_running_deadline_and_its_countdown() -> None:
    waiting = _row(task("dispatched"), NOW, [])
    assert (waiting["phase"], waiting["countdown"], waiting["overdue"]) == (
        "签收",
        "剩 4 小时",
        False,
    )
    signed = _row(task("signed"), NOW, ["督办"])
    assert (signed["phase"], signed["countdown"], signed["marks"]) == (
        "办结",
        "剩 2 个工作日",
        ["督办"],
    )
    late = _row(task("in_progress"), datetime(2024, 6, 7, 1, 0, tzinfo=UTC), [])
    assert late["overdue"]
    assert late["countdown"] == "逾期 2 个工作日"
    done = _row(task("disposed"), datetime(2024, 6, 7, 1, 0, tzinfo=UTC), [])
    assert not done["overdue"]
    assert done["countdown"] == "—"


def render_task(t: dict[str, Any], **over: Any) -> str:
    story = {
        "task": t,
        "events": [
            {
                "at": NOW.isoformat(),
                "actor": HOSTILE,
                "department": "d",
                "from_state": None,
                "to_state": "created",
                "reason": HOSTILE,
            }
        ],
        "supervision": [
            {
                "at": NOW.isoformat(),
                "kind": "supervision",
                "department": "d",
                "deadline": NOW.isoformat(),
            }
        ],
    }
    values = {
        "person": PEOPLE["hz_handler"],
        "csrf": "c",
        "nav": [],
        "path": "/",
        "error": None,
        "notice": None,
        "task": t,
        "row": _row(t, NOW, []),
        "story": story,
        "warning": None,
        "own": True,
        "centre": False,
        "evidence": [],
        "states": STATES,
        "results": RESULTS,
        "marks": MARKS,
        "warning_states": WARNING_STATES,
        **over,
    }
    return environment().get_template("task.html").render(values)


def test_the_forms_follow_the_state_and_the_person() -> None:
    assert 'id="form-sign"' in render_task(task("dispatched"))
    assert 'id="form-return"' in render_task(task("dispatched"))
    signed = render_task(task("signed"))
    assert 'id="form-start"' in signed
    assert 'id="form-extend"' in signed
    assert 'id="form-dispose"' in render_task(task("in_progress"))
    pending = task("in_progress", extension_to="2024-06-07T23:59:59+08:00", extension_reason="r")
    assert 'id="form-extend"' not in render_task(pending)
    assert 'id="form-grant"' not in render_task(pending)
    assert 'id="form-grant"' in render_task(pending, own=False, centre=True)
    assert "<form" not in render_task(task("signed"), own=False).split("</header>")[1]
    assert set(ACTIONS) >= {"sign", "return", "start", "dispose", "extend"}


def test_what_people_typed_is_shown_as_text() -> None:
    page = render_task(task("signed"))
    assert HOSTILE not in page
    assert "&lt;script&gt;" in page
    assert "督办" in page  # the supervision mark is on the story


def test_a_complaint_task_offers_the_taxonomy_categories_and_shows_a_correction() -> None:
    from schemas.categories import categories

    listed = categories()
    inspection = render_task(task("in_progress"), categories=listed)
    assert 'name="category"' not in inspection  # no complaint: no category to correct
    complaint = render_task(task("in_progress", complaint_text="饭后上吐下泻"), categories=listed)
    assert 'name="category"' in complaint
    assert '<option value="">不更正</option>' in complaint
    assert all(f'<option value="{c}">{c}</option>' in complaint for c in listed)
    brief = {"event_id": "c-1", "values": {"category": f"商贸旅游（hz_market更正，原 {HOSTILE}）"}}
    warning = {
        "title": "t",
        "state": "resolved",
        "first_seen": NOW.isoformat(),
        "last_seen": NOW.isoformat(),
        "evidence_records": [brief],
    }
    shown = render_task(task("disposed"), warning=warning, categories=listed)
    assert 'class="category-corrected">商贸旅游（hz_market更正，原 &lt;script&gt;' in shown
