"""The staff side of the console in real Chromium against a real worker (issue #20, "Done
when"): a red warning reaches the situation wall within 5 s of its event; its page shows the
rule, the legal basis, the evidence values and the versions; the list filters; an operator
silences it with a reason typed as hostile text, shown inert; the enterprise's file opens; and
what is not the person's stays theirs (jurisdiction, CSRF).

One worker and one console for the module (``console_fixtures``); the tests run in order and
build on the warnings the first one raises.
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
import requests
from selenium.common.exceptions import NoAlertPresentException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.conftest import produce
from tests.integration.console_fixtures import Console, login, screenshot, wait_for
from tests.people import token

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytest_plugins = ["tests.integration.console_fixtures"]

WARM_UP, WATCHED = "91330105MA2B00001G", "91330105MA2B00002K"  # valid USCCs, Hangzhou 330105
HOSTILE = "<script>alert('x')</script>' OR 1=1 --"
MARKUP = "<img src=x onerror=alert(1)>"  # hostile bytes from the data side: a complaint's text
SEEN: dict[str, str] = {}  # uscc -> alert id, from the first test


def complaint(uscc: str, n: int) -> tuple[bytes, bytes]:
    """A complaint of suspected food poisoning: red at once (complaints.food_poisoning)."""
    event = {
        "event_id": f"cmp-console-{uscc[-6:]}-{n}",
        "event_time": datetime.now(UTC).isoformat(),
        "channel": "12315",
        "text": f"就餐后呕吐、腹泻，怀疑食物中毒{MARKUP}",
        "subject": "食品安全投诉",
        "category": "食品安全",
        "urgency": "urgent",
        "uscc": uscc,
        "region_code": "330105",
        "entity_name": "杭州测试餐饮有限公司",
        "address": "杭州市上城区测试路1号",
    }
    return uscc.encode(), json.dumps(event, ensure_ascii=False).encode()


def live_items(browser: WebDriver) -> dict[str, str]:
    return {
        li.get_attribute("data-alert-id") or "": li.text
        for li in browser.find_elements(By.CSS_SELECTOR, "#live-list li")
    }


def no_script_ran(browser: WebDriver) -> None:
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert  # noqa: B018 - an alert() dialog would mean the text ran


def test_a_red_warning_reaches_the_wall_within_5_s(browser: WebDriver, console: Console) -> None:
    s = console.settings
    login(browser, console, "hz_staff")
    browser.get(f"{console.url}/situation")
    WebDriverWait(browser, 20).until(
        lambda b: b.find_element(By.ID, "live-status").text == "已连接"
    )
    # the worker's first event pays for its warm-up (models, CEL, SQL store): not timed
    produce(s.bootstrap_servers, s.topics.complaints, [complaint(WARM_UP, 0)])
    WebDriverWait(browser, 120).until(lambda b: len(live_items(b)) >= 1)
    SEEN[WARM_UP] = next(iter(live_items(browser)))

    produce(s.bootstrap_servers, s.topics.complaints, [complaint(WATCHED, 1)])
    sent = time.monotonic()
    try:
        WebDriverWait(browser, 5, poll_frequency=0.1).until(lambda b: len(live_items(b)) >= 2)
    except TimeoutException:
        late = "never (60 s)"
        with contextlib.suppress(TimeoutException):
            WebDriverWait(browser, 60).until(lambda b: len(live_items(b)) >= 2)
            late = f"after {time.monotonic() - sent:.1f} s"
        pytest.fail(f"the red warning did not reach the situation page within 5 s: {late}")
    took = time.monotonic() - sent
    newest = browser.find_element(By.CSS_SELECTOR, "#live-list li")
    SEEN[WATCHED] = newest.get_attribute("data-alert-id") or ""
    assert "疑似食物中毒" in newest.text, newest.text
    assert "红色" in newest.text, newest.text
    print(f"red warning on the wall {took:.2f} s after its event")
    # the counts follow (refreshed after the push)
    WebDriverWait(browser, 20).until(
        lambda b: b.find_element(By.CSS_SELECTOR, "#by-level [data-level=red]").text == "2"
    )
    assert browser.find_element(By.CSS_SELECTOR, "#trend li.today .n").text == "2"
    load = browser.find_element(By.ID, "task-load").text  # both tasks, racing their sign-for
    assert "hz_market" in load, load
    screenshot(browser, "situation")

    newest.find_element(By.CSS_SELECTOR, "a.title").click()
    wait_for(browser, By.ID, "why")
    why = browser.find_element(By.ID, "why").text
    assert "疑似食物中毒投诉" in why  # the rule's title
    assert "食品安全法" in why  # its legal basis
    assert "complaints.food_poisoning" in why  # its id …
    assert "v" in browser.find_element(By.CSS_SELECTOR, "#why .version").text  # … and version
    assert browser.find_element(By.CSS_SELECTOR, "#why .evidence-values").text.strip() != "—"
    assert "杭州测试餐饮有限公司" in browser.page_source
    assert MARKUP in browser.find_element(By.ID, "evidence").text  # shown as text …
    assert not browser.find_elements(By.CSS_SELECTOR, "main img")  # … never as an element
    no_script_ran(browser)
    screenshot(browser, "warning")


def test_the_list_filters_and_refuses_bad_filters_inertly(
    browser: WebDriver, console: Console
) -> None:
    assert SEEN, "needs the warnings of the first test"
    login(browser, console, "hz_staff")
    browser.get(f"{console.url}/warnings?level=red&rule=food_poisoning")
    rows = browser.find_elements(By.CSS_SELECTOR, "#warnings tbody tr[data-alert-id]")
    assert {r.get_attribute("data-alert-id") for r in rows} >= set(SEEN.values())
    screenshot(browser, "warnings")
    browser.get(f"{console.url}/warnings?level=blue")
    assert not browser.find_elements(By.CSS_SELECTOR, "#warnings tbody tr[data-alert-id]")

    for field, typed in (("f-rule", HOSTILE), ("f-region", "' OR 1=1 --")):
        browser.get(f"{console.url}/warnings")
        box = browser.find_element(By.ID, field)
        box.send_keys(typed)
        browser.find_element(By.ID, "apply").click()
        error = wait_for(browser, By.ID, "error")
        assert "筛选条件有误" in error.text  # type: ignore[attr-defined]
        # shown back as text in the form, never run
        assert browser.find_element(By.ID, field).get_attribute("value") == typed
        no_script_ran(browser)
        assert "Traceback" not in browser.page_source


def test_an_operator_silences_with_a_reason_shown_inert(
    browser: WebDriver, console: Console
) -> None:
    alert_id = SEEN[WATCHED]
    login(browser, console, "operator")
    browser.get(f"{console.url}/warnings/{alert_id}")
    browser.find_element(By.ID, "silence-hours").clear()
    browser.find_element(By.ID, "silence-hours").send_keys("two")
    browser.find_element(By.ID, "silence-reason").send_keys(HOSTILE)
    browser.find_element(By.ID, "silence").click()
    error = wait_for(browser, By.ID, "error")
    assert "时长" in error.text  # type: ignore[attr-defined]  # refused on the page, kept typed
    assert browser.find_element(By.ID, "silence-reason").get_attribute("value") == HOSTILE

    hours = browser.find_element(By.ID, "silence-hours")
    hours.clear()
    hours.send_keys("2")
    browser.find_element(By.ID, "silence").click()
    wait_for(browser, By.ID, "notice")
    WebDriverWait(browser, 20).until(lambda b: _reason_listed(b, console, alert_id))
    no_script_ran(browser)

    # …and ends it from the same page: the worker records who ended it, the page lists it no more
    item = next(
        li
        for li in browser.find_elements(By.CSS_SELECTOR, ".silence-list li")
        if HOSTILE in li.text
    )
    item.find_element(By.CSS_SELECTOR, "button.end-silence").click()
    # the page it left may still show the silencing's notice: wait for the new page itself
    WebDriverWait(browser, 30).until(lambda b: "unsilenced=1" in b.current_url)
    assert "静默已结束" in wait_for(browser, By.ID, "notice").text  # type: ignore[attr-defined]
    WebDriverWait(browser, 60).until(lambda b: _reason_gone(b, console, alert_id))
    no_script_ran(browser)


def _reason_gone(browser: WebDriver, console: Console, alert_id: str) -> bool:
    """The ended silence is off the warning's page once the worker has applied its end."""
    browser.get(f"{console.url}/warnings/{alert_id}")
    reasons = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".silence-reason")]
    return HOSTILE not in reasons


def _reason_listed(browser: WebDriver, console: Console, alert_id: str) -> bool:
    """The silence appears on the warning's page once the worker has loaded it."""
    reasons = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".silence-reason")]
    if HOSTILE in reasons:
        return True
    browser.get(f"{console.url}/warnings/{alert_id}")
    return False


def test_the_enterprise_file_opens_from_the_warning(browser: WebDriver, console: Console) -> None:
    login(browser, console, "hz_staff")
    browser.get(f"{console.url}/warnings/{SEEN[WATCHED]}")
    browser.find_element(By.ID, "enterprise-link").click()
    deadline = time.monotonic() + 60
    while not browser.find_elements(By.ID, "score"):  # the profile agent may still be writing
        assert time.monotonic() < deadline, browser.find_element(By.TAG_NAME, "main").text
        time.sleep(1)
        browser.refresh()
    assert float(browser.find_element(By.ID, "score").text) > 0
    assert "红色预警" in browser.find_element(By.ID, "risk-reasons").text
    assert SEEN[WATCHED] in browser.find_element(By.ID, "open-items").get_attribute("innerHTML")
    screenshot(browser, "enterprise")


def test_other_regions_and_forged_posts_are_refused(console: Console) -> None:
    s = console.settings
    nb = {"riskloop_console_token": token(s, "nb_staff")}
    page = requests.get(f"{console.url}/warnings/{SEEN[WATCHED]}", cookies=nb, timeout=30)
    assert page.status_code == 403
    assert "outside your regions" in page.text
    listing = requests.get(f"{console.url}/warnings", cookies=nb, timeout=30)
    assert SEEN[WATCHED] not in listing.text
    # the enterprise's file (一企一档) is Hangzhou's too: the worker refuses it, the page says so
    deadline = time.monotonic() + 60
    while (
        "尚无该企业的档案"
        in (
            file := requests.get(f"{console.url}/enterprises/{WATCHED}", cookies=nb, timeout=30)
        ).text
    ):  # the profile agent may still be writing
        assert time.monotonic() < deadline, file.text
        time.sleep(1)
    assert "this enterprise is outside your regions (3302)" in file.text
    assert 'id="score"' not in file.text
    # an operator's cookie without the CSRF token: refused, and no silence is made
    ops = {"riskloop_console_token": token(s, "operator")}
    forged = requests.post(
        f"{console.url}/warnings/{SEEN[WATCHED]}/silence",
        cookies=ops,
        data={"reason": "forged", "hours": "1"},
        timeout=30,
    )
    assert forged.status_code == 403
    assert "CSRF" in forged.text
    silences = requests.get(
        f"{console.worker_url}/api/silences",
        timeout=30,
        headers={"Authorization": f"Bearer {token(s, 'operator')}"},
    )
    assert "forged" not in silences.text
