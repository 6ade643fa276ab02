"""The report as a PDF (reportlab), with Chinese text in the CID font ``STSong-Light``.

A CID font is named, not embedded: every PDF reader ships the Adobe-GB1 fonts, so nothing is
downloaded and the file stays small; the text stays text (searchable, extractable). The page
and the PDF are built from the same :class:`Report`, so they cannot disagree.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

from console.reports.charts import BAR, LEVEL_COLOURS
from console.reports.period import ZONE
from console.reports.text import (
    MODEL_COLUMN,
    department_rows,
    enterprise_rows,
    precision_rows,
    title_of,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from console.reports.records import Count, Report

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

_H1 = ParagraphStyle("h1", fontName=FONT, fontSize=18, leading=24, spaceAfter=6)
_H2 = ParagraphStyle("h2", fontName=FONT, fontSize=13, leading=18, spaceBefore=10, spaceAfter=4)
_BODY = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=14)


def render(report: Report) -> bytes:
    """The whole report as PDF bytes."""
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=title_of(report),
        author="RiskLoop",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
    )
    flow = [
        Paragraph(title_of(report), _H1),
        Paragraph(
            f"统计区间（北京时间）：{report.period.label}　生成时间："
            f"{report.generated_at.astimezone(ZONE).strftime('%Y-%m-%d %H:%M')}",
            _BODY,
        ),
        Paragraph(f"新增预警 {report.warnings_total} 条", _H2),
        _bars(report.by_level, "按等级", LEVEL_COLOURS),
        _bars(report.by_source, "按来源", {}),
        _bars(report.by_region, "按地区", {}),
        Paragraph("核查任务", _H2),
        Paragraph(
            f"新开 {report.tasks.opened}　办结 {report.tasks.disposed}　"
            f"结案 {report.tasks.closed}　逾期未办结 {report.tasks.overdue}",
            _BODY,
        ),
        Paragraph("部门时效（小时为自然小时）", _H2),
        _table(department_rows(report)),
        Paragraph("风险最高企业（红4 橙3 黄2 蓝1 加权）", _H2),
        _table(enterprise_rows(report.top_risk)),
        Paragraph("投诉最多企业", _H2),
        _table(enterprise_rows(report.top_complaints)),
        Paragraph("规则精确率（属实 / 属实+不属实）", _H2),
        _table(precision_rows(report.precision)),
        Paragraph("模型精确率（属实 / 属实+不属实，按模型版本）", _H2),
        _table(precision_rows(report.model_precision, MODEL_COLUMN)),
    ]
    doc.build(flow)
    return out.getvalue()


def _bars(counts: Sequence[Count], title: str, colours: dict[str, str]) -> Drawing:
    row, label_w, width = 16, 120, 440
    height = 18 + row * max(len(counts), 1)
    d = Drawing(width, height)
    d.add(String(0, height - 12, title, fontName=FONT, fontSize=10))
    biggest = max((c.value for c in counts), default=0) or 1
    if not counts:
        d.add(String(label_w, height - 28, "无数据", fontName=FONT, fontSize=9))
    for i, c in enumerate(counts):
        y = height - 18 - (i + 1) * row + 3
        length = max((width - label_w - 40) * c.value / biggest, 1 if c.value else 0)
        d.add(String(label_w - 4, y + 2, c.label[:14], fontName=FONT, fontSize=9, textAnchor="end"))
        d.add(
            Rect(
                label_w,
                y,
                length,
                row - 5,
                fillColor=colors.HexColor(colours.get(c.key, BAR)),
                strokeColor=None,
            )
        )
        d.add(String(label_w + length + 3, y + 2, str(c.value), fontName=FONT, fontSize=9))
    return d


def _table(rows: list[list[str]]) -> Table:
    if len(rows) <= 1:
        return Table([["无数据"]], style=[("FONT", (0, 0), (-1, -1), FONT, 9)])
    table = Table(rows, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 9),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6")),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#b0b8c4")),
            ]
        )
    )
    return table
