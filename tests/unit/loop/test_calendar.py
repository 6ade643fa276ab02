"""The layered working-day calendar: notice files over the package over the law."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest

from loop.calendar import (
    SHIPPED_DIR,
    Basis,
    WorkingCalendar,
    load_dir,
    parse_year,
    shipped_calendar,
    statutory_holidays,
)
from schemas.errors import ConfigError

NOTICE_2027 = """\
year: 2027
source: 国务院办公厅关于2027年部分节假日安排的通知（演练用）
holidays:
  - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
  - {name: 春节, from: 2027-02-05, to: 2027-02-13}
workdays:
  - 2027-02-14
"""


def days_of(year: int) -> list[date]:
    return [date(year, 1, 1) + timedelta(n) for n in range(365)]


@pytest.mark.parametrize("path", sorted(SHIPPED_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_notice_files_agree_with_the_package(path) -> None:
    cal = parse_year(path.read_bytes(), str(path))
    layered = WorkingCalendar([cal])
    wrong = [
        d for d in days_of(cal.year) if layered.is_workday(d) != chinese_calendar.is_workday(d)
    ]
    assert wrong == []
    assert layered.basis(cal.year) is Basis.official


def test_shipped_calendar_covers_the_current_years() -> None:
    years = {c.year for c in load_dir()}
    assert {2025, 2026} <= years


def test_a_year_without_data_is_provisional_with_the_statutory_holidays() -> None:
    cal = shipped_calendar()
    assert cal.basis(2027) is Basis.provisional
    off = statutory_holidays(2027)
    # Spring Festival 2027 (正月初一) is Saturday 6 February; eve Friday 5 February
    assert {date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8)} <= set(off)
    # the two weekend days are made up (补假) on the next working days
    assert off[date(2027, 2, 9)].endswith("（补假）")
    assert date(2027, 2, 10) in off
    assert {date(2027, 5, 1), date(2027, 5, 2), date(2027, 10, 1), date(2027, 10, 3)} <= set(off)
    assert not cal.is_workday(date(2027, 2, 8))
    assert cal.is_workday(date(2027, 2, 11))
    assert not cal.is_workday(date(2027, 1, 9))  # a Saturday, no 调休 known
    # 13 statutory days, some made up: every year between 13 and 20 days off on weekdays+weekends
    for year in range(2027, 2040):
        assert 13 <= len(statutory_holidays(year)) <= 20, year


def test_provisional_holidays_match_the_package_on_known_years() -> None:
    # The derivation must put the festivals where the notices did (before 调休 moved days);
    # the law as revised in 2024 (Spring Festival eve a holiday) applies from 2025.
    for year in (2025, 2026):
        derived = {d for d, name in statutory_holidays(year).items() if "补假" not in name}
        package_off = {d for d in days_of(year) if chinese_calendar.is_holiday(d)}
        missing = sorted(d for d in derived if d not in package_off)
        assert missing == [], (year, missing)


def test_a_published_year_overrides_and_is_official() -> None:
    cal = shipped_calendar().with_year(parse_year(NOTICE_2027))
    assert cal.basis(2027) is Basis.official
    assert not cal.is_workday(date(2027, 2, 12))  # off in the notice, a Friday
    assert cal.is_workday(date(2027, 2, 14))  # 调休 Sunday
    assert cal.day_off(date(2027, 2, 12)) == "春节"
    assert cal.basis(2026) is Basis.official  # the other years stay


def test_official_until_counts_the_unbroken_run() -> None:
    cal = shipped_calendar()
    assert cal.official_until(date(2026, 12, 2)) == date(2026, 12, 31)
    assert cal.official_until(date(2027, 3, 1)) is None
    assert cal.with_year(parse_year(NOTICE_2027)).official_until(date(2026, 12, 2)) == date(
        2027, 12, 31
    )


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            "year: 2027\nholidays:\n  - {name: 春节, from: 2027-02-13, to: 2027-02-05}\n",
            3,
            "before",
        ),
        (
            "year: 2027\nholidays:\n  - {name: 元旦, from: 2027-01-01, to: 2027-01-01}\nworkdays:\n  - 2027-01-04\n",
            5,
            "weekday",
        ),
        ("year: 1800\nholidays:\n  - {name: 元旦, from: 1800-01-01, to: 1800-01-01}\n", 1, "year"),
        ("year: 2027\nholidays: [\n", 3, "YAML"),
        ("- 1\n", 1, "mapping"),
        (
            "year: 2027\nholidays:\n  - {name: 元旦, from: 2027-01-01, to: 2027-01-01, extra: 1}\n",
            3,
            "extra",
        ),
    ],
)
def test_a_wrong_notice_file_names_its_line(text: str, line: int, words: str) -> None:
    with pytest.raises(ConfigError, match=rf"line {line}\b.*(?i:{words})"):
        parse_year(text, "bad.yaml")


def test_oversized_files_are_refused() -> None:
    with pytest.raises(ConfigError, match="too large"):
        parse_year("#" * 100_000)
