"""What a sink journals of a checkpoint's hand-over (``Sink.latest``): only the versions its
target keeps, and the target ends exactly as if it had taken every version in turn."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from redis import asyncio as aioredis

from schemas.records import AlertState, Level, TaskState
from sinks import sql_tables
from sinks.migrate import migrate
from sinks.redis_views import RedisViews
from sinks.sql import SqlSink, SqlStore, make_engine
from tests.unit.sinks.factories import T0, make_alert, make_event, make_task

if TYPE_CHECKING:
    from pathlib import Path

    from pydantic import BaseModel


def hand_over() -> list[BaseModel]:
    """A checkpoint's worth: one warning changed three times, a task twice, events between."""
    return [
        make_alert(1, state=AlertState.new),
        make_task(1, state=TaskState.created),
        make_event("task-1", 1),
        make_alert(1, state=AlertState.updated, level=Level.orange),
        make_alert(2),
        make_task(1, state=TaskState.dispatched),
        make_event("task-1", 2),
        make_alert(1, state=AlertState.escalated, level=Level.red),
    ]


def rows(store: SqlStore) -> dict[str, list[tuple[object, ...]]]:
    with store.engine.connect() as conn:
        return {
            table.name: sorted(tuple(r) for r in conn.execute(sa.select(table)).all())
            for table in (sql_tables.tasks, sql_tables.alerts, sql_tables.task_events)
        }


def test_sql_keeps_the_last_task_and_alert_and_every_event(tmp_path: Path) -> None:
    records = hand_over()
    sink = SqlSink(SqlStore(make_engine(f"sqlite:///{tmp_path / 'x.db'}")), tmp_path / "o")
    kept = sink.latest(records)
    assert kept == [records[2], records[4], records[5], records[6], records[7]]


def test_the_sql_store_ends_the_same_with_the_last_versions_only(tmp_path: Path) -> None:
    records = hand_over()
    every, last = (f"sqlite:///{tmp_path / name}" for name in ("every.db", "last.db"))
    for url in (every, last):
        migrate(url)
    one_by_one, at_once = SqlStore(make_engine(every)), SqlStore(make_engine(last))
    for record in records:
        one_by_one.write([record])
    sink = SqlSink(at_once, tmp_path / "outbox")
    at_once.write(sink.latest(records))
    assert rows(at_once) == rows(one_by_one)
    assert len(rows(at_once)["alerts"]) == 2


def test_redis_keeps_a_warnings_last_version_per_day_and_every_task(tmp_path: Path) -> None:
    views = RedisViews(aioredis.Redis(), tmp_path / "outbox", timezone="Asia/Shanghai")
    today = make_alert(1, last_seen=T0)  # 09:00 in Shanghai
    later_today = make_alert(1, last_seen=T0 + timedelta(hours=14), level=Level.orange)
    tomorrow = make_alert(1, last_seen=T0 + timedelta(hours=15), level=Level.red)
    tasks = [make_task(1, state=TaskState.created), make_task(1, state=TaskState.dispatched)]
    kept = views.latest([today, tasks[0], later_today, tasks[1], tomorrow])
    assert kept == [tasks[0], later_today, tasks[1], tomorrow]
