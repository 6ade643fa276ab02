"""What `riskloop alerts tail` prints: notified changes only, what changed, full ids, +08:00."""

from __future__ import annotations

import doctest

import streams.api.detail
import streams.cli.lines
from streams.cli.lines import alert_line, task_line


def test_doctests() -> None:
    for module in (streams.cli.lines, streams.api.detail):
        assert doctest.testmod(module).failed == 0


def test_a_quiet_change_prints_nothing_and_a_notified_one_says_what_changed() -> None:
    body = {
        "level": "orange",
        "state": "escalated",
        "title": "离线",
        "entity": "E",
        "alert_id": "fp-1.1",
        "changes": ["level yellow→orange (3 hits within 24h)"],
    }
    assert alert_line({**body, "notify": False}) is None
    line = alert_line(body)
    assert line is not None
    assert line.endswith("level yellow→orange (3 hits within 24h)")
    assert "fp-1.1" in line
    joined = alert_line({**body, "case_task_id": "task-abc"})
    assert joined is not None
    assert "case task-abc" in joined


def test_a_task_line_keeps_the_whole_id_and_shows_beijing_time() -> None:
    line = task_line(
        {
            "task_id": "task-8df5bcef3a434abcdef",
            "department": "emergency",
            "dispose_deadline": "2026-11-21T03:55:00+00:00",
            "title": "电梯困人",
        }
    )
    assert "task-8df5bcef3a434abcdef" in line
    assert "2026-11-21 11:55+08:00" in line
