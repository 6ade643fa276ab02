"""The Redis views of tasks and warnings carry the enterprise's name and address (issue #17),
live and after ``riskloop ops rebuild-views`` (which reads them back from the SQL store)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING

from schemas.records import Task
from sinks.migrate import migrate
from sinks.redis_views import WARNING_BRIEF, task_view, warning_view
from sinks.sql import SqlStore, make_engine
from tests.unit.sinks.factories import T0, make_alert, make_task

if TYPE_CHECKING:
    from pathlib import Path

NAMED = {"entity_name": "某某餐饮店", "entity_address": "西湖区文三路1号"}


def test_the_task_view_carries_name_address_and_complaint_text() -> None:
    task = make_task(1, complaint_text="食堂：卫生差", **NAMED)
    body = json.loads(task_view(task))
    assert {k: body[k] for k in NAMED} == NAMED
    assert body["complaint_text"] == "食堂：卫生差"
    assert Task.model_validate_json(task_view(task)) == task  # what open_tasks reads back


def test_the_warning_brief_carries_name_and_address_and_nothing_bulky() -> None:
    alert = make_alert(1, complaint_text="食堂：卫生差", **NAMED)
    brief = json.loads(warning_view(alert))
    assert set(brief) == set(WARNING_BRIEF)
    assert {k: brief[k] for k in NAMED} == NAMED
    assert brief["alert_id"] == alert.alert_id
    assert brief["level"] == alert.level.value
    unnamed = json.loads(warning_view(make_alert(2)))
    assert unnamed["entity_name"] is None
    assert unnamed["entity_address"] is None


def test_a_rebuild_reads_the_names_back_from_sql(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate(url)
    store = SqlStore(make_engine(url))
    store.write([make_task(1, **NAMED), make_alert(1, **NAMED)])
    (task,) = list(store.iter_tasks())
    (alert,) = store.alerts_since(T0 - timedelta(days=1))
    assert {k: json.loads(task_view(task))[k] for k in NAMED} == NAMED
    assert {k: json.loads(warning_view(alert))[k] for k in NAMED} == NAMED
