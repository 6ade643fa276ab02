"""模型与规则 in a real browser against a real worker: a record written onto ``control.rulepacks``
past the CLI, unsigned, is refused by the worker; a modeller opens the page and sees the pack
still running its version, with the refusal and its reason beside it. A department's staff is
not offered the page and is refused it with the reason. ``riskloop status`` shows the same.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import requests
from selenium.webdriver.common.by import By

from streams.producer import deliver, make_producer
from tests.integration.console_fixtures import Console, login, screenshot, wait_for
from tests.integration.test_silence_expiry import riskloop
from tests.people import auth

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytest_plugins = ["tests.integration.console_fixtures"]

PACK = "complaints"  # shipped: every worker runs it from the start


def test_a_modeller_sees_a_refused_publication_beside_the_version_that_runs(
    browser: WebDriver, console: Console
) -> None:
    s = console.settings
    active = requests.get(
        f"{console.worker_url}/api/active", headers=auth(s, "modeller"), timeout=30
    )
    running = active.json()["active"]["rulepack"][PACK]
    deliver(make_producer(s), s.topics.rulepacks, PACK.encode(), b'{"name": "complaints"}')

    login(browser, console, "modeller")
    assert browser.find_elements(By.LINK_TEXT, "模型与规则")  # in the modeller's menu
    row_css = f'#running tr[data-kind="rulepack"][data-name="{PACK}"]'
    deadline = time.monotonic() + 60
    while True:  # until the worker's signed refusal is on control.status
        browser.get(f"{console.url}/control")
        wait_for(browser, By.ID, "control")
        row = browser.find_element(By.CSS_SELECTOR, row_css)
        if row.get_attribute("data-event") == "refused":
            break
        assert time.monotonic() < deadline, f"no refusal shown: {row.text}"
        time.sleep(1)
    assert row.find_element(By.CSS_SELECTOR, "td.version").text == running
    assert "signature unsigned" in row.find_element(By.CSS_SELECTOR, "td.reason").text
    assert "被拒绝" in row.text
    assert browser.find_element(By.ID, "refused-count").text.startswith("1 项")
    presets = browser.find_element(By.ID, "presets").text
    assert "skab" in presets
    assert "nab" in presets
    models = browser.find_elements(By.CSS_SELECTOR, '#running tr[data-kind="model"]')
    assert models, "the worker's models are listed too"
    screenshot(browser, "control")

    # the command line says the same: the version that runs, and the refusal since
    cli = riskloop(s, "status", "--kind", "rulepack")
    assert cli.returncode == 0, cli.stderr
    (line,) = [ln for ln in cli.stdout.splitlines() if f" {PACK} " in ln]
    assert running in line
    assert "refused" in line
    assert "signature unsigned" in line


def test_a_departments_staff_is_not_offered_the_page_and_is_refused_it(
    browser: WebDriver, console: Console
) -> None:
    login(browser, console, "hz_staff")
    assert not browser.find_elements(By.LINK_TEXT, "模型与规则")
    browser.get(f"{console.url}/control")
    assert "无权访问" in browser.page_source
    assert "oversee needs the role" in browser.page_source
    assert browser.find_elements(By.ID, "running") == []
