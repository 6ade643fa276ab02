"""Bar charts as SVG text, drawn on the server: no JavaScript, sharp when printed.

Every label is escaped (a region or enterprise name is data, not markup), and the drawing is
a pure function of the counts, so a test can read the bars back.

>>> from console.reports.records import Count
>>> svg = bar_chart([Count(key="red", label="红色", value=3)], title="按等级")
>>> svg.startswith("<svg") and 'data-value="3"' in svg
True
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from console.reports.records import Count

LEVEL_COLOURS = {"red": "#d93026", "orange": "#f08c00", "yellow": "#e6b800", "blue": "#1c6fd1"}
BAR = "#3b6ea8"
ROW = 24
LABEL_WIDTH = 150
VALUE_WIDTH = 48


def bar_chart(
    counts: Sequence[Count],
    *,
    title: str,
    width: int = 520,
    colours: dict[str, str] | None = None,
) -> str:
    """A horizontal bar chart: one row per count, bars scaled to the largest value."""
    top = 28
    height = top + ROW * max(len(counts), 1) + 8
    span = width - LABEL_WIDTH - VALUE_WIDTH
    biggest = max((c.value for c in counts), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" class="chart-title" font-size="14" font-weight="bold">'
        f"{escape(title)}</text>",
    ]
    if not counts:
        parts.append(f'<text x="0" y="{top + 16}" font-size="12" fill="#777">无数据</text>')
    for i, c in enumerate(counts):
        y = top + i * ROW
        length = max(round(span * c.value / biggest), 1 if c.value else 0)
        colour = (colours or {}).get(c.key, BAR)
        parts.append(
            f'<g class="bar" data-key="{escape(c.key)}" data-value="{c.value}">'
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 16}" font-size="12" text-anchor="end">'
            f"{escape(_short(c.label))}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{length}" height="{ROW - 8}" '
            f'fill="{colour}"/>'
            f'<text x="{LABEL_WIDTH + length + 4}" y="{y + 16}" font-size="12">{c.value}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _short(text: str, limit: int = 14) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
