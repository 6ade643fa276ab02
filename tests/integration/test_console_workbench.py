"""The task workbench in real headless Chromium against a real worker (issue #20).

A failed inspection in Hangzhou (330106) opens a task for hz_market_food. Its handler finds it
on 我的任务, is refused a return without a reason, signs for it, is refused an extension into
the past, asks for one that the risk centre's supervisor grants on the centre's desk, is
refused a disposal without evidence, disposes with a photo — and the warning shows resolved.
A handler of another department never sees the task: not in the list, and its page and its
evidence file are refused. Every refusal is a message on the page and changes nothing: the
task's story in the worker's API is the same after it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import requests
from selenium.webdriver.common.by import By

from infra.ports import free_port
from loop.deadlines import CST
from tests.integration.conftest import private_settings, produce
from tests.integration.console_fixtures import Console, login, screenshot, wait_for
from tests.integration.test_extensions import working_day_after
from tests.integration.test_jurisdiction import HZ_DEPARTMENT, failed_inspection
from tests.integration.test_jurisdiction import wait_for as until
from tests.people import auth

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from selenium.webdriver.remote.webdriver import WebDriver

    from config.settings import Settings

pytest_plugins = ["tests.integration.console_fixtures"]

ADDRESS = "杭州市西湖区文三路531号2幢"
PHOTO = base64.b64decode(  # a 1×1 PNG: a real image, as a handler's phone would send
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def console_settings(tmp_path_factory: pytest.TempPathFactory, broker: str) -> Iterator[Settings]:
    """As the harness's, with time for a verdict: a disposition waits for the worker's answer,
    which takes more than the default 10 s on a loaded machine."""
    with private_settings(tmp_path_factory.mktemp("workbench")) as s:
        yield s.with_overrides(
            console=s.console.model_copy(update={"port": free_port(), "backend_timeout": 90.0})
        )


def api(s: Settings, who: str, path: str) -> Any:
    r = requests.get(f"http://127.0.0.1:{s.web_port}{path}", headers=auth(s, who), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def submit(browser: WebDriver, form: str, **fields: str) -> None:
    """Fill ``form``'s fields (by name) as a person would, and send it."""
    element = browser.find_element(By.ID, form)
    for name, value in fields.items():
        box = element.find_element(By.NAME, name)
        if box.get_attribute("type") == "date":  # typed dates follow the locale's format
            browser.execute_script("arguments[0].value = arguments[1]", box, value)
        elif box.get_attribute("type") == "file":
            box.send_keys(value)
        else:
            box.clear()
            box.send_keys(value)
    element.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def shown(browser: WebDriver, page: str, css: str, check: Callable[[Any], bool]) -> Any:
    """Reload ``page`` until ``css`` is there and passes ``check`` (the store follows the
    worker's verdict within seconds), and return the element."""

    def found() -> Any:
        browser.get(page)
        elements = browser.find_elements(By.CSS_SELECTOR, css)
        return elements[0] if elements and check(elements[0]) else None

    return until(css, found, timeout=90)


def state_is(state: str) -> Callable[[Any], bool]:
    return lambda element: element.get_attribute("data-state") == state


def refused_on_page(browser: WebDriver, words: str) -> None:
    error = wait_for(browser, By.ID, "error")
    assert words in error.text, error.text  # type: ignore[attr-defined]
    assert "Traceback" not in browser.page_source


@pytest.fixture(scope="module")
def task(console: Console) -> dict[str, Any]:
    s = console.settings
    run = uuid.uuid4().hex[:8]
    key, value = failed_inspection(run, "330106")
    event = {**json.loads(value), "address": ADDRESS}  # the task keeps its house number
    produce(s.bootstrap_servers, s.topics.inspections, [(key, json.dumps(event).encode())])

    def stored() -> dict[str, Any] | None:
        tasks = api(s, "supervisor", "/api/tasks?limit=1000")["tasks"]
        return next((t for t in tasks if t["entity"] == key.decode()), None)

    found: dict[str, Any] = until("the task in the store", stored, timeout=180)
    assert found["department"] == HZ_DEPARTMENT
    return found


def test_a_handler_works_a_task_from_signing_to_disposal(
    browser: WebDriver, console: Console, task: dict[str, Any], tmp_path: Path
) -> None:
    s, task_id = console.settings, task["task_id"]
    page = f"{console.url}/workbench/tasks/{task_id}"

    def story() -> dict[str, Any]:
        """The task and its audit rows (notification attempts may come and go meanwhile)."""
        full = api(s, "supervisor", f"/api/tasks/{task_id}")
        return {"task": full["task"], "events": full["events"]}

    login(browser, console, "hz_food_handler")
    # the front page's 我的待办: the new task waits to be signed for, among the soonest due
    browser.get(f"{console.url}/")
    wait_for(browser, By.CSS_SELECTOR, f"#desk-tasks tr[data-task='{task_id}']")
    assert int(browser.find_element(By.ID, "desk-to-sign").text) >= 1
    screenshot(browser, "desk")
    browser.get(f"{console.url}/workbench")
    row = wait_for(browser, By.CSS_SELECTOR, f"tr[data-task='{task_id}']")
    assert "工作日" in row.text or "小时" in row.text  # type: ignore[attr-defined]
    screenshot(browser, "workbench")  # the open task, its deadline and countdown

    # a return without a reason: the worker's refusal on the page, the task as it was
    before = story()
    browser.get(page)
    assert ADDRESS in browser.page_source  # the holding department's handler: the full view
    submit(browser, "form-return", reason="")
    refused_on_page(browser, "missing_reason")
    assert story() == before

    browser.get(page)
    submit(browser, "form-sign")
    notice = wait_for(browser, By.ID, "notice")
    assert "签收" in notice.text  # type: ignore[attr-defined]
    shown(browser, page, "#task-state", state_is("signed"))

    # an extension into the past is refused; a working day after the deadline waits for the centre
    signed = story()
    past = (datetime.now(UTC) - timedelta(days=3)).astimezone(CST).date()
    submit(browser, "form-extend", extend_to=past.isoformat(), reason="需联合检查")
    refused_on_page(browser, "in the past")
    assert story() == signed
    wanted = working_day_after(datetime.fromisoformat(signed["task"]["dispose_deadline"]), 3)
    browser.get(page)
    reason = "需联合住建部门检查<script>document.title='x'</script>"
    submit(browser, "form-extend", extend_to=wanted.isoformat(), reason=reason)
    wait_for(browser, By.ID, "notice")
    pending = shown(browser, page, "#extension-pending", lambda e: True)
    assert reason in pending.text  # shown as the text it is, never run
    assert "&lt;script&gt;" in browser.page_source
    assert browser.title != "x"
    assert wanted.isoformat() in pending.text  # type: ignore[attr-defined]

    # the risk centre's desk lists it; the supervisor grants it
    login(browser, console, "supervisor")
    browser.get(f"{console.url}/workbench")
    wait_for(browser, By.CSS_SELECTOR, f"#extension-requests tr[data-task='{task_id}']")
    browser.get(page)
    assert "文三路***号*幢" in browser.page_source  # the centre: the address to the road
    assert ADDRESS not in browser.page_source
    submit(browser, "form-grant", reason="同意")
    wait_for(browser, By.ID, "notice")
    granted = until("the grant in the store", lambda: (t := story()["task"])["extensions"] and t)
    assert datetime.fromisoformat(granted["dispose_deadline"]).astimezone(CST).date() == wanted
    assert granted["extensions"] == 1
    assert granted["extension_to"] is None

    # back to the handler: start, a disposal without evidence is refused, then with a photo
    login(browser, console, "hz_food_handler")
    browser.get(page)
    submit(browser, "form-start")
    wait_for(browser, By.ID, "notice")
    shown(browser, page, "#task-state", state_is("in_progress"))
    started = story()
    submit(browser, "form-dispose", reason="已责令整改")
    refused_on_page(browser, "missing_evidence")
    assert story() == started
    program = tmp_path / "照片.jpg"  # an executable by any other name
    program.write_bytes(b"\x7fELF\x02\x01\x01" + b"\x00" * 64)
    browser.get(page)
    submit(browser, "form-dispose", reason="已整改", evidence=str(program))
    refused_on_page(browser, "executable")
    assert story() == started
    photo = tmp_path / "现场照片.png"
    photo.write_bytes(PHOTO)
    browser.get(page)
    submit(browser, "form-dispose", reason="现场核查属实，已整改", evidence=str(photo))
    wait_for(browser, By.ID, "notice")
    shown(browser, page, "#task-state", state_is("disposed"))
    digest = hashlib.sha256(PHOTO).hexdigest()
    link = browser.find_element(By.CSS_SELECTOR, "#evidence a")
    assert link.text == "现场照片.png"
    assert digest in browser.find_element(By.ID, "evidence").text
    disposed = story()
    assert disposed["task"]["state"] == "disposed"
    assert disposed["task"]["evidence"] == [f"sha256:{digest}/现场照片.png"]
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    served = requests.get(str(link.get_attribute("href")), cookies=cookies, timeout=30)
    assert served.status_code == 200
    assert served.content == PHOTO
    assert served.headers["Content-Type"] == "image/png"

    # the warning shows resolved, and the story has every step with who and why
    shown(browser, page, "#warning-state", state_is("resolved"))
    rows = browser.find_element(By.ID, "story").text
    for words in ("需联合住建部门检查", "extension granted", "测试u-hz-food", "现场核查属实"):
        assert words in rows
    screenshot(browser, "task")


def test_another_department_never_sees_the_task(
    browser: WebDriver, console: Console, task: dict[str, Any]
) -> None:
    task_id = task["task_id"]
    login(browser, console, "zj_intake_handler")
    browser.get(f"{console.url}/workbench")
    wait_for(browser, By.TAG_NAME, "h1")
    assert task_id not in browser.page_source
    browser.get(f"{console.url}/workbench/tasks/{task_id}")
    reason = wait_for(browser, By.ID, "reason")
    assert "403" in reason.text
    assert "another department" in reason.text
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    digest = hashlib.sha256(PHOTO).hexdigest()
    for path in (f"/workbench/tasks/{task_id}", f"/workbench/tasks/{task_id}/evidence/{digest}"):
        r = requests.get(f"{console.url}{path}", cookies=cookies, timeout=30)
        assert r.status_code == 403, (path, r.status_code)
        assert PHOTO not in r.content
        assert "Traceback" not in r.text
    # and cannot act on it: the worker refuses, nothing is sent
    before = api(console.settings, "supervisor", f"/api/tasks/{task_id}")["events"]
    r = requests.post(
        f"{console.url}/workbench/tasks/{task_id}",
        cookies=cookies,
        timeout=60,
        data={"action": "sign", "csrf_token": cookies["riskloop_console_csrf"]},
    )
    assert r.status_code == 403
    assert "another department" in r.text
    assert api(console.settings, "supervisor", f"/api/tasks/{task_id}")["events"] == before
