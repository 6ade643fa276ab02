"""The console's front door in a real browser: login with a minted token, logout, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import requests
from selenium.webdriver.common.by import By

from infra.devkey import DevKey
from tests.integration.console_fixtures import Console, login, screenshot, wait_for
from tests.people import PEOPLE

if TYPE_CHECKING:
    from pathlib import Path

    from selenium.webdriver.remote.webdriver import WebDriver

pytest_plugins = ["tests.integration.console_fixtures"]


def test_staff_logs_in_and_out(browser: WebDriver, console: Console) -> None:
    login(browser, console, "hz_staff")
    assert browser.find_element(By.ID, "person").text == PEOPLE["hz_staff"].name
    cookies = {c["name"]: c for c in browser.get_cookies()}
    session = cookies["riskloop_console_token"]
    assert session["httpOnly"]
    assert session["sameSite"] == "Strict"
    screenshot(browser, "home")
    browser.find_element(By.CSS_SELECTOR, "form[action='/logout'] button").click()
    wait_for(browser, By.ID, "login-form")
    browser.get(f"{console.url}/")
    assert "/login" in browser.current_url  # logged out: back to the door


def test_a_bad_token_is_refused_on_the_page(browser: WebDriver, console: Console) -> None:
    browser.delete_all_cookies()
    browser.get(f"{console.url}/login")
    browser.find_element(By.ID, "token").send_keys("not.a.jwt<script>")
    browser.find_element(By.ID, "login").click()
    error = wait_for(browser, By.ID, "error")
    assert "不是" in error.text or "JWT" in error.text  # type: ignore[attr-defined]
    assert "Traceback" not in browser.page_source


def test_logged_out_pages_redirect_and_posts_need_csrf(console: Console) -> None:
    for path in (
        "/",
        "/situation",
        "/situation/stream",
        "/warnings?level=red",
        "/warnings/fp-1.1",
        "/enterprises/91330105MA2B00001G",
    ):
        answer = requests.get(f"{console.url}{path}", allow_redirects=False, timeout=10)
        assert answer.status_code == 303, path
        assert answer.headers["Location"].startswith("/login?next="), path
    # a cross-site form post carries no CSRF cookie/field: refused before anything runs
    posted = requests.post(f"{console.url}/login", data={"token": "x"}, timeout=10)
    assert posted.status_code == 403
    assert "CSRF" in posted.text
    assert "Content-Security-Policy" in answer.headers


def test_a_token_from_another_key_is_sent_back_to_login(console: Console, tmp_path: Path) -> None:
    s = console.settings
    foreign = DevKey(tmp_path / "other").mint(
        PEOPLE["supervisor"],
        issuer=s.auth.issuer,
        audience=s.auth.audience,
        now=datetime.now(UTC),
        ttl=timedelta(hours=1),
    )
    answer = requests.get(
        f"{console.url}/warnings",
        cookies={"riskloop_console_token": foreign},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303
    assert "expired=1" in answer.headers["Location"]
    page = requests.get(f"{console.url}{answer.headers['Location']}", timeout=10)
    assert "登录已失效" in page.text
    assert "kid" not in page.text
