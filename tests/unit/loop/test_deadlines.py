from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.settings import DeadlineSettings
from loop import deadlines
from loop.calendar import Basis, WorkingCalendar
from loop.deadlines import CST, deadline_after, parse, task_deadlines
from loop.errors import CalendarUnavailable
from schemas.errors import ConfigError
from schemas.records import Level


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST).astimezone(UTC)


def test_parse_accepts_the_four_units() -> None:
    assert [str(parse(s)) for s in ("30m", "4h", "2d", " 3wd ")] == ["30m", "4h", "2d", "3wd"]


@pytest.mark.parametrize("bad", ["", "3", "0h", "-1h", "1.5h", "3 weeks", "wd"])
def test_parse_rejects_with_a_helpful_message(bad: str) -> None:
    with pytest.raises(ConfigError, match="deadline"):
        parse(bad)


def test_clock_durations_ignore_the_calendar() -> None:
    # National Day holiday: 30 minutes are still 30 minutes.
    now = cst(2024, 10, 1, 23, 50)
    assert deadline_after(now, "30m") == now + timedelta(minutes=30)
    assert deadline_after(now, "4h") == now + timedelta(hours=4)


def test_one_working_day_from_friday_evening_ends_monday_night() -> None:
    assert deadline_after(cst(2024, 5, 17, 17, 0), "1wd") == cst(2024, 5, 20, 23, 59, 59)


def test_start_day_is_not_counted_even_early_in_the_morning() -> None:
    assert deadline_after(cst(2024, 5, 20, 0, 1), "1wd") == cst(2024, 5, 21, 23, 59, 59)


def test_make_up_weekend_counts_and_holidays_do_not() -> None:
    # 2024 Spring Festival: Sun 4 Feb is a make-up working day, 10–17 Feb are holidays and
    # Sun 18 Feb is again a make-up working day.
    assert deadline_after(cst(2024, 2, 3, 10, 0), "1wd") == cst(2024, 2, 4, 23, 59, 59)
    assert deadline_after(cst(2024, 2, 9, 10, 0), "1wd") == cst(2024, 2, 18, 23, 59, 59)
    assert deadline_after(cst(2024, 2, 9, 10, 0), "2wd") == cst(2024, 2, 19, 23, 59, 59)


def test_working_days_are_counted_in_china_time_not_utc() -> None:
    # 23:30 UTC on Friday is already Saturday 07:30 in Beijing.
    now = datetime(2024, 5, 17, 23, 30, tzinfo=UTC)
    assert deadline_after(now, "1wd") == cst(2024, 5, 20, 23, 59, 59)


def test_naive_times_are_taken_as_utc() -> None:
    aware = datetime(2024, 5, 17, 9, 0, tzinfo=UTC)
    assert deadline_after(aware.replace(tzinfo=None), "4h") == aware + timedelta(hours=4)


def test_years_without_calendar_data_are_provisional_not_an_error() -> None:
    # 2026-12-23 + 7wd ran into 2027, which no package release holds: it raised
    # CalendarUnavailable and stopped the task partition. Now it is counted provisionally.
    found = deadlines.deadline_of(cst(2026, 12, 23, 10, 0), "7wd")
    # 24, 25, 28, 29, 30, 31 Dec, then New Year's Day off, weekend, Monday 4 January
    assert found.at == cst(2027, 1, 4, 23, 59, 59)
    assert found.basis is Basis.provisional
    assert "2027-01-01 元旦" in found.explain
    far = deadlines.deadline_of(datetime(2031, 1, 1, tzinfo=UTC), "1wd")
    assert far.basis is Basis.provisional
    assert far.at > datetime(2031, 1, 1, tzinfo=UTC)


def test_a_calendar_with_no_working_days_still_fails_clearly() -> None:
    class Never(WorkingCalendar):
        def is_workday(self, day: date) -> bool:
            return False

    with pytest.raises(CalendarUnavailable, match="no 1 working days"):
        deadline_after(datetime(2026, 1, 1, tzinfo=UTC), "1wd", Never())


def test_task_deadlines_follow_the_level_and_template_overrides() -> None:
    now = cst(2024, 5, 20, 9, 0)
    sign, dispose, basis = task_deadlines(Level.red, DeadlineSettings(), now)
    assert basis is Basis.clock
    assert (sign - now, dispose - now) == (timedelta(minutes=30), timedelta(hours=2))
    sign, dispose, _ = task_deadlines(Level.red, DeadlineSettings(), now, sign="1h", dispose="30m")
    assert sign == dispose == now + timedelta(hours=1)  # dispose never before sign-for


def test_validate_names_the_bad_setting() -> None:
    with pytest.raises(ConfigError, match="'3 days'"):
        deadlines.validate(DeadlineSettings(dispose_blue="3 days"))


moments = st.datetimes(
    min_value=datetime(2005, 1, 1), max_value=datetime(2025, 11, 30), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(now=moments, spec=st.sampled_from(["1m", "30m", "4h", "24h", "2d", "1wd", "3wd", "7wd"]))
def test_deadline_is_always_after_now(now: datetime, spec: str) -> None:
    assert deadline_after(now, spec) > now


@settings(max_examples=300, deadline=None)
@given(now=moments, days=st.integers(min_value=1, max_value=15))
def test_working_day_deadlines_land_on_working_days(now: datetime, days: int) -> None:
    end = deadline_after(now, f"{days}wd").astimezone(CST)
    assert chinese_calendar.is_workday(end.date())
    assert end.time() == deadlines.END_OF_DAY
    counted = [
        d
        for d in (now.astimezone(CST).date() + timedelta(n) for n in range(1, 400))
        if d <= end.date() and chinese_calendar.is_workday(d)
    ]
    assert len(counted) == days  # exactly N working days after the start day


def test_the_default_calendar_keeps_the_package_years() -> None:
    cal = deadlines.default_calendar()
    assert cal.is_workday(date(2024, 2, 4)) is True  # 调休 Sunday
    assert cal.is_workday(date(2024, 2, 12)) is False  # Spring Festival
    assert cal.basis(2024) is Basis.package
    # a package year names its holidays in Chinese, as the notices and provisional years do
    assert cal.day_off(date(2024, 2, 12)) == "春节"
    assert cal.day_off(date(2024, 10, 3)) == "国庆节"
    assert cal.day_off(date(2024, 2, 4)) is None  # 调休: a working day
