"""The Chinese words a report shows for the store's codes (levels, sources, departments).

A code without a word here is shown as itself: a new source or department still reports,
it only reads less nicely until it is named.
"""

from __future__ import annotations

LEVELS = {"red": "红色", "orange": "橙色", "yellow": "黄色", "blue": "蓝色"}
"""Most severe first: the order bars are drawn in."""

LEVEL_WEIGHT = {"red": 4, "orange": 3, "yellow": 2, "blue": 1}
"""How much one warning of a level adds to an enterprise's risk score in a report."""

SOURCES = {
    "inspections": "检查结果",
    "complaints": "投诉举报",
    "equipment": "特种设备",
    "trucks": "渣土车",
    "cross": "跨源关联",
}


def level(code: str) -> str:
    return LEVELS.get(code, code)


def source(code: str) -> str:
    return SOURCES.get(code, code)
