"""The report's two outputs: SVG charts (escaped, one bar per count) and the PDF (pages,
Chinese text as text)."""

from __future__ import annotations

import doctest
import importlib
import re
from datetime import UTC, datetime

import pytest

from console.reports import aggregate, pdf
from console.reports.charts import bar_chart
from console.reports.records import Count
from console.reports.text import title_of
from tests.pdf_text import page_count, texts
from tests.unit.console.test_report_aggregate import DAY, END, day_history


def test_a_chart_has_one_bar_per_count_scaled_to_the_largest() -> None:
    svg = bar_chart(
        [Count(key="a", label="甲", value=4), Count(key="b", label="乙", value=1)],
        title="按来源",
        width=520,
    )
    assert re.findall(r'data-value="(\d+)"', svg) == ["4", "1"]
    widths = [int(w) for w in re.findall(r'<rect x="\d+" y="\d+" width="(\d+)"', svg)]
    assert widths == [520 - 150 - 48, round((520 - 150 - 48) / 4)]


def test_chart_labels_are_escaped() -> None:
    svg = bar_chart(
        [Count(key='"><x', label="<script>alert(1)</script>", value=1)], title="<b>t</b>"
    )
    assert "<script>" not in svg
    assert "<b>" not in svg
    assert "&lt;script&gt;" in svg
    assert 'data-key="&quot;&gt;&lt;x"' in svg


def test_an_empty_chart_says_so() -> None:
    assert "无数据" in bar_chart([], title="按地区")


def test_the_pdf_has_pages_and_its_chinese_title_is_text() -> None:
    report = aggregate.build(day_history(), DAY, now=END)
    data = pdf.render(report)
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    assert page_count(data) >= 1
    shown = texts(data)
    assert title_of(report) == "风险研判日报 2026-12-01"
    assert title_of(report) in shown
    assert "甲餐馆" in shown
    assert "hz_market" in shown
    assert "/STSong-Light" in data.decode("latin-1")  # the CID font, named, not downloaded


def test_the_pdf_of_an_empty_period_still_renders() -> None:
    report = aggregate.build(aggregate.History(), DAY, now=datetime.now(UTC))
    assert page_count(pdf.render(report)) == 1


@pytest.mark.parametrize("name", ["period", "scope", "charts", "text"])
def test_report_doctests(name: str) -> None:
    module = importlib.import_module(f"console.reports.{name}")
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0


def test_map_window_doctest() -> None:
    result = doctest.testmod(importlib.import_module("console.map.window"))
    assert result.attempted > 0
    assert result.failed == 0
