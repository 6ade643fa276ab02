"""The working-day calendar: data the risk centre controls, layered, and never an error.

Working-day deadlines (``"3wd"``) depend on each year's 放假安排, which the State Council
publishes each autumn and the ``chinese_calendar`` package follows weeks or months later. A
deadline that cannot be computed would stop a task from opening, so the calendar answers for
every day, from the best source it has, and says which one it used (its *basis*):

``official``
    a notice file the risk centre loaded: ``config/calendar/<year>.yaml`` shipped with RiskLoop,
    or one hot-loaded with ``riskloop calendar publish`` (holiday ranges and 调休 make-up
    working days, in the shape of the notice);
``package``
    the ``chinese_calendar`` package's data for that year (the same notices, transcribed);
``provisional``
    no data yet: weekends plus the statutory holidays that follow from the law itself
    (《全国年节及纪念日放假办法》 as revised in 2024: New Year's Day, Spring Festival eve and days
    1–3, Qingming, 1–2 May, Dragon Boat, Mid-Autumn, 1–3 October; lunar dates and the Qingming
    solar term from ``lunar_python``), with a holiday that falls on a weekend made up on the
    next working day (补假), as the law prescribes. No 调休 can be derived.

A task records the weakest basis its deadlines rest on (``Task.deadline_basis``); when the
year's data arrives, supervision recomputes the deadlines of open provisional tasks with an
audit row (``loop.task_opening.recompute_deadlines``).
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import chinese_calendar
import yaml
from chinese_calendar.constants import Holiday
from lunar_python import Lunar
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from config.settings import PROJECT_ROOT
from schemas.errors import ConfigError
from schemas.records import DeadlineBasis

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

SHIPPED_DIR = PROJECT_ROOT / "config" / "calendar"
MAX_BYTES = 64 * 1024  # a year's notice is a page; anything larger is not one
FIRST_YEAR, LAST_YEAR = 2000, 2199  # lunar_python and common sense both hold in this range


Basis = DeadlineBasis
"""Where a deadline's working days came from (``schemas.records.DeadlineBasis``)."""


_STRENGTH = {Basis.clock: 0, Basis.official: 1, Basis.package: 2, Basis.provisional: 3}


def weakest(bases: Iterable[Basis]) -> Basis:
    """The least certain of ``bases`` (``clock`` when there are none).

    >>> weakest([Basis.official, Basis.provisional, Basis.clock])
    <DeadlineBasis.provisional: 'provisional'>
    """
    return max(bases, key=_STRENGTH.__getitem__, default=Basis.clock)


class HolidayRange(BaseModel):
    """One holiday of the notice: ``name`` off from ``start`` to ``end`` (both included)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=40)
    start: date = Field(alias="from")
    end: date = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> HolidayRange:
        if self.end < self.start:
            raise ValueError(f"{self.name}: 'to' ({self.end}) is before 'from' ({self.start})")
        if (self.end - self.start).days > 15:
            raise ValueError(f"{self.name}: a holiday of more than 16 days is not a notice's")
        return self

    def days(self) -> list[date]:
        """Every day of the holiday, both ends included."""
        return [self.start + timedelta(d) for d in range((self.end - self.start).days + 1)]


class YearCalendar(BaseModel):
    """One year's 放假安排 as the State Council's notice gives it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    year: int = Field(ge=FIRST_YEAR, le=LAST_YEAR)
    source: str = Field(default="", max_length=200, description="the notice, e.g. its number")
    holidays: list[HolidayRange] = Field(min_length=1, max_length=20)
    workdays: list[date] = Field(default_factory=list, max_length=20, description="调休上班")

    @field_validator("workdays")
    @classmethod
    def _weekends(cls, value: list[date]) -> list[date]:
        for day in value:
            if day.weekday() < 5:
                raise ValueError(
                    f"{day} is a weekday: only a weekend day can be a 调休 working day"
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> YearCalendar:
        off = set()
        for holiday in self.holidays:
            for day in holiday.days():
                if abs(day.year - self.year) > 1 or (
                    day.year != self.year
                    and abs((day - date(self.year, 1, 1)).days) > 40
                    and abs((day - date(self.year, 12, 31)).days) > 40
                ):
                    raise ValueError(f"{holiday.name}: {day} is not near {self.year}")
                off.add(day)
        both = sorted(off & set(self.workdays))
        if both:
            raise ValueError(f"{both[0]} is both a holiday and a working day")
        if len(off) > 45:
            raise ValueError(f"{len(off)} days off is more than any year's notice gives")
        return self

    def content_hash(self) -> str:
        """Identify the notice's content, so republishing an unchanged year is seen as such."""
        return "sha256:" + hashlib.sha256(self.model_dump_json().encode()).hexdigest()


def parse_year(text: str | bytes, origin: str = "calendar") -> YearCalendar:
    """Read a notice file (YAML or JSON); a ``ConfigError`` names the line that is wrong."""
    if len(text) > MAX_BYTES:
        raise ConfigError(f"{origin}: {len(text)} bytes is too large for a year's notice")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{origin}: not UTF-8 text ({exc.reason})") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(
            f"{origin}:{where}: not valid YAML: {getattr(exc, 'problem', exc)}"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: line 1: expected a mapping with year, holidays, workdays")
    try:
        return YearCalendar.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        line = _line_of(node, err["loc"])
        where = ".".join(str(p) for p in err["loc"]) or "top"
        raise ConfigError(f"{origin}: line {line}: {where}: {err['msg']}") from exc


def _line_of(node: Any, loc: tuple[Any, ...]) -> int:
    """The 1-based line of the YAML node at pydantic's error location (the deepest found)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            child = node.value[part]
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


def load_dir(folder: Path = SHIPPED_DIR) -> list[YearCalendar]:
    """The shipped notice files, ``<year>.yaml``; a bad one fails loudly at start."""
    years = []
    for path in sorted(folder.glob("*.yaml")):
        cal = parse_year(path.read_bytes(), str(path))
        if path.stem != str(cal.year):
            raise ConfigError(f"{path}: holds year {cal.year}; name the file {cal.year}.yaml")
        years.append(cal)
    return years


@lru_cache(maxsize=1)
def package_years() -> frozenset[int]:
    """Years the ``chinese_calendar`` package holds notices for."""
    return frozenset(d.year for d in chinese_calendar.holidays) | frozenset(
        d.year for d in chinese_calendar.workdays
    )


@lru_cache(maxsize=64)
def statutory_holidays(year: int) -> Mapping[date, str]:
    """The days off the law itself fixes for ``year``, with 补假 for those on a weekend.

    >>> sorted(d.isoformat() for d in statutory_holidays(2027))[:6]
    ['2027-01-01', '2027-02-05', '2027-02-06', '2027-02-07', '2027-02-08', '2027-02-09']
    """
    new_year = Lunar.fromYmd(year, 1, 1).getSolar()
    spring = date(new_year.getYear(), new_year.getMonth(), new_year.getDay())
    qingming = Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"]

    def lunar(month: int, day: int) -> date:
        s = Lunar.fromYmd(year, month, day).getSolar()
        return date(s.getYear(), s.getMonth(), s.getDay())

    days: dict[date, str] = {date(year, 1, 1): "元旦"}
    for offset in range(-1, 3):
        days[spring + timedelta(offset)] = "春节"
    days[date(qingming.getYear(), qingming.getMonth(), qingming.getDay())] = "清明节"
    days[date(year, 5, 1)] = days[date(year, 5, 2)] = "劳动节"
    days[lunar(5, 5)] = "端午节"
    days[lunar(8, 15)] = "中秋节"
    for d in (1, 2, 3):
        days[date(year, 10, d)] = "国庆节"
    # 补假: a holiday on a Saturday or Sunday is made up on the next day that is neither
    made_up: dict[date, str] = {}
    for day, name in sorted(days.items()):
        if day.weekday() >= 5:
            nxt = day + timedelta(1)
            while nxt.weekday() >= 5 or nxt in days or nxt in made_up:
                nxt += timedelta(1)
            made_up[nxt] = f"{name}（补假）"
    return {**days, **made_up}


class WorkingCalendar:
    """Official notices over the package over the provisional calendar; immutable.

    A hot-load builds a new one (:meth:`with_year`) and swaps the reference.
    """

    def __init__(self, official: Iterable[YearCalendar] = ()) -> None:
        self.official: dict[int, YearCalendar] = {c.year: c for c in official}
        self._off: dict[date, str] = {}
        self._on: set[date] = set()
        for cal in sorted(self.official.values(), key=lambda c: c.year):
            for holiday in cal.holidays:
                for day in holiday.days():
                    self._off[day] = holiday.name
            self._on.update(cal.workdays)

    def with_year(self, cal: YearCalendar) -> WorkingCalendar:
        """A calendar with ``cal`` replacing its year's notice."""
        return WorkingCalendar([*(c for y, c in self.official.items() if y != cal.year), cal])

    def basis(self, year: int) -> Basis:
        """What ``year``'s day types rest on: a loaded notice, the package's, or a guess."""
        if year in self.official:
            return Basis.official
        if year in package_years():
            return Basis.package
        return Basis.provisional

    def is_workday(self, day: date) -> bool:
        """Whether ``day`` is a working day, from the best source for its year."""
        if day in self._on:
            return True
        if day in self._off:
            return False
        basis = self.basis(day.year)
        if basis is Basis.official:
            return day.weekday() < 5
        if basis is Basis.package:
            return bool(chinese_calendar.is_workday(day))
        return day.weekday() < 5 and day not in statutory_holidays(day.year)

    def day_off(self, day: date) -> str | None:
        """The holiday ``day`` belongs to, if any (for explaining a deadline)."""
        if day in self._on:
            return None
        if day in self._off:
            return self._off[day]
        basis = self.basis(day.year)
        if basis is Basis.package:
            # the package answers with its English value ("Spring Festival"); the notices and the
            # provisional years name holidays in Chinese, and so must a refusal or a deadline's
            # explanation whatever year it falls in: the enum's ``chinese`` name ("春节")
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
            if not on_holiday or not name:
                return None
            holiday = next((h for h in Holiday if h.value == name), None)
            return holiday.chinese if holiday is not None else str(name)
        if basis is Basis.provisional:
            return statutory_holidays(day.year).get(day)
        return None

    def official_until(self, today: date) -> date | None:
        """The last day of the unbroken run of official or package years from ``today``'s
        year on; ``None`` when ``today``'s own year is already provisional."""
        covered = set(self.official) | package_years()
        year = today.year
        if year not in covered:
            return None
        while year + 1 in covered:
            year += 1
        return date(year, 12, 31)

    def status(self, years: Iterable[int]) -> list[tuple[int, Basis, str]]:
        """(year, basis, where from) for each of ``years``."""
        out = []
        for year in years:
            basis = self.basis(year)
            if basis is Basis.official:
                cal = self.official[year]
                src = cal.source or "notice file"
            elif basis is Basis.package:
                src = "chinese_calendar package"
            else:
                src = "weekends + statutory holidays (no 调休)"
            out.append((year, basis, src))
        return out


def shipped_calendar(folder: Path = SHIPPED_DIR) -> WorkingCalendar:
    """The calendar of the shipped notice files (layered over the package)."""
    return WorkingCalendar(load_dir(folder))
