"""Chinese names for what the records call in English (UI text only; ids stay as they are)."""

from __future__ import annotations

from schemas.sources import SOURCE_SPECS

LEVELS = {"red": "红色", "orange": "橙色", "yellow": "黄色", "blue": "蓝色"}
STATES = {
    "new": "新发",
    "updated": "更新",
    "escalated": "升级",
    "deescalated": "降级",
    "suppressed": "已抑制",
    "silenced": "已静默",
    "resolved": "已解除",
    "false_alarm": "误报",
}
SOURCES = {name: spec.label for name, spec in SOURCE_SPECS.items()}
"""Each source's Chinese name (``SourceSpec.label``): the warnings page offers these as filters."""
TASK_STATES = {
    "created": "已创建",
    "dispatched": "待签收",
    "signed": "已签收",
    "returned": "已退回",
    "arbitration": "仲裁中",
    "in_progress": "处置中",
    "disposed": "已处置",
    "closed": "已办结",
    "reopened": "已重开",
}

CONTROL_KINDS = {"rulepack": "规则包", "model": "模型", "fenceset": "围栏", "calendar": "放假安排"}
"""What workers hot-load (``streams.control_status.KINDS``), for 模型与规则."""
CONTROL_EVENTS = {
    "refused": "被拒绝",
    "drift": "漂移",
    "demoted": "已降级",
    "removed": "已撤回",
    "expired": "已结束",
}
"""What happened to what a worker runs (``streams.control_status.EVENTS``)."""


def label(table: dict[str, str], value: object) -> str:
    """The Chinese name of ``value``, or the value itself when it has none.

    >>> label(LEVELS, "red"), label(LEVELS, "purple")
    ('红色', 'purple')
    """
    text = str(value) if value is not None else ""
    return table.get(text, text)


def install(filters: dict[str, object]) -> None:
    """Add the ``*_zh`` filters (level, state, source, task state, control kind and event) to a
    Jinja2 env."""
    filters["level_zh"] = lambda v: label(LEVELS, v)
    filters["state_zh"] = lambda v: label(STATES, v)
    filters["source_zh"] = lambda v: label(SOURCES, v)
    filters["task_state_zh"] = lambda v: label(TASK_STATES, v)
    filters["control_kind_zh"] = lambda v: label(CONTROL_KINDS, v)
    filters["control_event_zh"] = lambda v: label(CONTROL_EVENTS, v)
