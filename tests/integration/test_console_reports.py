"""Reports (研判) and the map in a real browser against a real worker (issue #20, Done-when):
the map shows a replayed muck truck and its dumping detection; the daily report of that day
renders with non-empty charts and exports a PDF whose Chinese title is text.

One worker and one console for the module (``console_fixtures``): the replay of the first test
is what the report of the second one counts.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
import requests
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By

from streams.producer import make_producer
from tests.integration.console_fixtures import Console, login, screenshot, wait_for
from tests.integration.test_geo_dumping import LIVERPOOL, loaded_trip_with_stop
from tests.pdf_text import page_count, texts

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytest_plugins = ["tests.integration.console_fixtures"]

PLATE = "浙A04842"
DUMPING = "trucks.suspected_dumping"
BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def replayed(console: Console) -> str:
    """The Liverpool route-14 trip as a loaded truck stopping 15 minutes (the dumping replay of
    ``test_geo_dumping``), produced once; returns the Beijing date of the stop, the day whose
    report counts the dumping warning (its first_seen is the detection's event time)."""
    assert LIVERPOOL.exists(), f"shared data missing: {LIVERPOOL}"
    s = console.settings
    fixes = loaded_trip_with_stop(PLATE)
    producer = make_producer(s)
    for fix in fixes:
        producer.produce(s.topics.trucks, key=PLATE.encode(), value=fix.model_dump_json().encode())
    assert producer.flush(30) == 0
    return fixes[len(fixes) // 2].event_time.astimezone(BEIJING).date().isoformat()


def test_the_map_shows_the_replayed_truck_and_its_dumping_detection(
    browser: WebDriver, console: Console, replayed: str
) -> None:
    login(browser, console, "supervisor")
    browser.get(f"{console.url}/map")
    wait_for(browser, By.CSS_SELECTOR, f'#truck-list li[data-plate="{PLATE}"]', timeout=180)
    try:
        detection = wait_for(
            browser, By.CSS_SELECTOR, f'#detection-list li[data-rules~="{DUMPING}"]', timeout=180
        )
    except TimeoutException:
        cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
        data = requests.get(f"{console.url}/map/data.json", cookies=cookies, timeout=60)
        pytest.fail(f"no dumping detection on the map; its data: {data.text[:3000]}")
    assert PLATE in detection.text
    assert "渣土车疑似偷倒乱倒" in detection.text
    # drawn, not only listed: a truck marker, its track and the detection ring are SVG paths
    paths = browser.find_elements(By.CSS_SELECTOR, "#map .leaflet-overlay-pane path")
    assert len(paths) >= 3
    assert browser.find_element(By.ID, "map").get_attribute("data-detections") != "0"
    time.sleep(1)  # let fitBounds settle before the picture
    screenshot(browser, "map")


def test_a_handler_of_another_region_sees_no_truck_without_a_region(
    browser: WebDriver, console: Console, replayed: str
) -> None:
    login(browser, console, "nb_handler")
    browser.get(f"{console.url}/map")
    wait_for(browser, By.ID, "map-status")
    WAIT_DRAWN = time.monotonic() + 20
    while browser.find_element(By.ID, "map").get_attribute("data-trucks") is None:
        assert time.monotonic() < WAIT_DRAWN, "the map never drew"
        time.sleep(0.5)
    assert browser.find_elements(By.CSS_SELECTOR, "#truck-list li") == []


def test_the_daily_report_renders_charts_and_exports_a_pdf(
    browser: WebDriver, console: Console, replayed: str
) -> None:
    login(browser, console, "supervisor")
    deadline = time.monotonic() + 180
    while True:  # until the SQL sink has stored the replay's warnings
        browser.get(f"{console.url}/reports?kind=daily&when={replayed}")
        title = wait_for(browser, By.ID, "report-title")
        if int(browser.find_element(By.ID, "warnings-total").text) >= 1:
            break
        assert time.monotonic() < deadline, "the day's report never counted the replay"
        time.sleep(2)
    assert title.text == f"风险研判日报 {replayed}"  # type: ignore[attr-defined]
    bars = browser.find_elements(By.CSS_SELECTOR, "svg.chart g.bar")
    assert bars
    assert all(int(b.get_attribute("data-value") or 0) > 0 for b in bars)
    levels = [
        b.get_attribute("data-key")
        for b in browser.find_elements(By.CSS_SELECTOR, "figure:first-child svg.chart g.bar")
    ]
    assert "orange" in levels  # the dumping warning is orange
    screenshot(browser, "report")

    link = browser.find_element(By.ID, "export-pdf").get_attribute("href")
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    answer = requests.get(str(link), cookies=cookies, timeout=60)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/pdf"
    assert page_count(answer.content) >= 1
    assert f"风险研判日报 {replayed}" in texts(answer.content)


def test_a_bad_date_is_a_message_on_the_page(browser: WebDriver, console: Console) -> None:
    login(browser, console, "supervisor")
    browser.get(f"{console.url}/reports?kind=daily&when=%3Cscript%3Ealert(1)%3C/script%3E")
    error = wait_for(browser, By.ID, "error")
    assert "YYYY-MM-DD" in error.text  # type: ignore[attr-defined]
    assert "<script>alert(1)</script>" not in browser.page_source
    assert "Traceback" not in browser.page_source
