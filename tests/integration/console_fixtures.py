"""The console's browser harness: one worker, one console and one headless Chromium per test
module (starting them is most of a browser test's time), and ``login(browser, who)``.

A console test module loads the fixtures as a plugin and imports the helpers::

    pytest_plugins = ["tests.integration.console_fixtures"]
    from tests.integration.console_fixtures import Console, login, screenshot

Chromium and its driver are Debian's (``chromium``, ``chromium-driver``): scripts/test.sh
installs them when missing, and so does :func:`chromedriver` when run as root (else it fails
with the command to run).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from infra.packages import ensure_binary, install
from infra.ports import free_port
from infra.process import stop_child
from tests.integration.conftest import (
    ROOT,
    private_settings,
    start_console,
    start_worker,
    wait_ready,
)
from tests.people import token

if TYPE_CHECKING:
    from collections.abc import Iterator

    from selenium.webdriver.remote.webdriver import WebDriver

    from config.settings import Settings

SCREENSHOTS = ROOT / "docs" / "screenshots"
WAIT = 20.0
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


@dataclass(frozen=True)
class Console:
    """A running console (``url``) in front of a running worker (``worker_url``)."""

    url: str
    worker_url: str
    settings: Settings
    logs: Path


def chromedriver() -> str:
    """Debian's chromium-driver (and chromium, and a font with Chinese glyphs for the
    screenshots), installed if missing."""
    ensure_binary("chromium", "chromium", candidates=("/usr/bin/chromium",))
    if not CJK_FONT.exists():
        install("fonts-wqy-microhei")
    return ensure_binary("chromedriver", "chromium-driver", candidates=("/usr/bin/chromedriver",))


@pytest.fixture(scope="module")
def console_settings(tmp_path_factory: pytest.TempPathFactory, broker: str) -> Iterator[Settings]:
    with private_settings(tmp_path_factory.mktemp("console")) as s:
        yield s.with_overrides(console=s.console.model_copy(update={"port": free_port()}))


@pytest.fixture(scope="module")
def console(
    console_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    """A worker and a console on private topics; both stopped after the module."""
    s = console_settings
    logs = tmp_path_factory.mktemp("console-logs")
    worker = start_worker(s, logs / "worker.log")
    proc = start_console(s, logs / "console.log")
    url = f"http://127.0.0.1:{s.console.port}"
    try:
        wait_ready(worker, f"http://127.0.0.1:{s.web_port}", timeout=120)
        wait_ready(proc, url)
        yield Console(url, f"http://127.0.0.1:{s.web_port}", s, logs)
    finally:
        stop_child(proc)
        stop_child(worker)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """Headless Chromium, Chinese locale, a wall-sized window (screenshots of the 大屏)."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1440,1000",
        "--lang=zh-CN",
        "--disable-extensions",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(chromedriver()), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def login(browser: WebDriver, console: Console, who: str) -> None:
    """Log ``who`` (a name from tests/people.py) in through the login form, as a person would."""
    browser.delete_all_cookies()
    browser.get(f"{console.url}/login")
    box = browser.find_element(By.ID, "token")
    box.clear()
    box.send_keys(token(console.settings, who))
    browser.find_element(By.ID, "login").click()
    wait_for(browser, By.ID, "person")


def wait_for(browser: WebDriver, by: str, what: str, timeout: float = WAIT) -> object:
    return WebDriverWait(browser, timeout).until(ec.presence_of_element_located((by, what)))


def screenshot(browser: WebDriver, page: str) -> Path:
    """Save ``docs/screenshots/<page>.png`` (the README shows them) and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{page}.png"
    assert browser.save_screenshot(str(path)), f"no screenshot of {page}"
    return path
