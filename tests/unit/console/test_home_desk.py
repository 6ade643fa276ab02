"""The front page's 我的待办, rendered from a desk (pure: the template and ``loop.situation``)."""

from __future__ import annotations

import re
from datetime import timedelta

from console.pages.home import _rows
from console.render import environment
from loop.situation import desk
from schemas.records import Level, TaskState
from tests.people import PEOPLE
from tests.unit.sinks.factories import T0, make_alert, make_task


def page(**values: object) -> str:
    return (
        environment()
        .get_template("home.html")
        .render(person=PEOPLE["hz_handler"], csrf="c", nav=[], path="/", notice=None, **values)
    )


def test_the_desk_shows_counts_the_tasks_racing_soonest_and_live_warnings() -> None:
    now = T0 + timedelta(hours=5)  # task-1's sign-for deadline (T0+4h) has passed
    tasks = [make_task(1, state=TaskState.dispatched), make_task(2, state=TaskState.signed)]
    mine = desk(tasks, [make_alert(1, level=Level.red, title="疑似食物中毒<b>")], now)
    html = page(desk=mine, rows=_rows(mine, now), error=None)
    counts = dict(re.findall(r'id="desk-([a-z-]+)">(\d+)<', html))
    assert counts == {
        "to-sign": "1",
        "in-hand": "1",
        "due-soon": "1",
        "overdue": "1",
        "with-centre": "0",
        "live": "1",
    }
    order = re.findall(r'<tr data-task="([^"]+)" class="(overdue)?"', html)
    assert order == [("task-1", "overdue"), ("task-2", "")]  # the overdue one first, in red
    assert "已逾期" in html
    assert "剩 1 个工作日" in html
    assert "疑似食物中毒&lt;b&gt;" in html  # a warning's title is text, never markup


def test_a_worker_that_is_away_is_a_message_not_an_empty_desk() -> None:
    html = page(desk=None, rows=[], error="工作进程暂不可用")
    assert 'id="desk-error">工作进程暂不可用<' in html
    assert "desk-to-sign" not in html
