"""The console's front door in a real browser: login with a minted token, logout, refusals."""

from __future__ import annotations

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.integration.console_fixtures import Console, login, screenshot, wait_for
from tests.people import PEOPLE

pytest_plugins = ["tests.integration.console_fixtures"]


def test_staff_logs_in_and_out(browser: WebDriver, console: Console) -> None:
    login(browser, console, "hz_staff")
    assert browser.find_element(By.ID, "person").text == PEOPLE["hz_staff"].name
    cookies = {c["name"]: c for c in browser.get_cookies()}
    session = cookies["riskloop_console_token"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
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
    answer = requests.get(f"{console.url}/", allow_redirects=False, timeout=10)
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/login?next=")
    # a cross-site form post carries no CSRF cookie/field: refused before anything runs
    posted = requests.post(f"{console.url}/login", data={"token": "x"}, timeout=10)
    assert posted.status_code == 403 and "CSRF" in posted.text
    assert "Content-Security-Policy" in answer.headers
