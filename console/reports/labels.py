"""What a report adds to the console's Chinese names (``console.labels``): the order levels
are drawn in and how much each weighs in an enterprise's risk score."""

from __future__ import annotations

from console.labels import LEVELS, SOURCES, label

LEVEL_ORDER = tuple(LEVELS)
"""Most severe first: the order bars are drawn in."""

LEVEL_WEIGHT = {"red": 4, "orange": 3, "yellow": 2, "blue": 1}
"""How much one warning of a level adds to an enterprise's risk score in a report."""


def level(code: str) -> str:
    """A level's Chinese name (红色, 橙色, …); an unknown code shows as itself."""
    return label(LEVELS, code)


REPORT_SOURCES = {**SOURCES, "truck_detections": "渣土车轨迹", "cross": "跨源关联"}
"""Every source a warning names: geo detections and cross-source rules are sources too."""


def source(code: str) -> str:
    """A source's Chinese name, geo detections and cross-source rules included; an
    unknown code shows as itself.
    """
    return label(REPORT_SOURCES, code)
