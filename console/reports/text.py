"""A report's words and table rows, shared by the page and the PDF so both read the same.

>>> _pct(0.875), _pct(None), _hours(2.04), _hours(None)
('87.5%', '—', '2.0', '—')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from console.reports.records import Enterprise, Precision, Report

KINDS = {"daily": "日报", "weekly": "周报"}

MODEL_COLUMN = "模型（版本）"
"""The first column of the model precision table: ``name@version``."""


def title_of(report: Report) -> str:
    """``风险研判日报 2026-12-01`` / ``风险研判周报 2026-W49``."""
    return f"风险研判{KINDS.get(report.period.kind, report.period.kind)} {report.period.label}"


def department_rows(report: Report) -> list[list[str]]:
    """The per-department table (办结, 按时, 逾期未办, the rate and average hours), header
    first.
    """
    rows = [["部门", "办结", "按时", "逾期未办", "按时率", "平均签收(小时)", "平均办结(小时)"]]
    rows += [
        [
            d.department,
            str(d.disposed),
            str(d.on_time),
            str(d.overdue_open),
            _pct(d.on_time_rate),
            _hours(d.avg_hours_to_sign),
            _hours(d.avg_hours_to_dispose),
        ]
        for d in report.departments
    ]
    return rows


def enterprise_rows(enterprises: Sequence[Enterprise]) -> list[list[str]]:
    """An enterprises table (name, USCC, warnings, score), header first, in the order
    given: the report has ranked them (by risk, or by complaints).
    """
    rows = [["企业", "统一社会信用代码", "预警数", "分值"]]
    rows += [[e.name, e.uscc, str(e.warnings), str(e.score)] for e in enterprises]
    return rows


def precision_rows(items: Sequence[Precision], what: str = "规则") -> list[list[str]]:
    """A precision table (``what``: 规则 or 模型（版本）; 属实, 不属实, 精确率) from the
    departments' dispositions, header first.
    """
    rows = [[what, "属实", "不属实", "精确率"]]
    rows += [[p.name, str(p.confirmed), str(p.false_alarm), _pct(p.precision)] for p in items]
    return rows


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"
