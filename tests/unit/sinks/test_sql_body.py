"""The SQL rows' JSON bodies are written from pydantic-core's own JSON (``_body``, a finished
``orjson.Fragment``) instead of ``model_dump(mode="json")`` encoded again: the stored text must
be exactly what the old path stored. Fails if the fast path diverges."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import orjson
import pytest
import sqlalchemy as sa

from sinks import sql_tables
from sinks.migrate import migrate
from sinks.sql import SqlStore, _body, _json, make_engine
from tests.unit.sinks.factories import T0, make_alert, make_event, make_supervision, make_task

if TYPE_CHECKING:
    from pathlib import Path

    from pydantic import BaseModel


def old_body(record: BaseModel) -> str:
    """The body text as the sink wrote it before (main at 1ccdda1)."""
    return _json(record.model_dump(mode="json"))


def records() -> list[Any]:
    alerts = [
        make_alert(
            n,
            title='疑似食物中毒 "投诉" \\ 😀',
            evidence=[f"e-{n}", "证据"],
            last_seen=T0 + timedelta(microseconds=n),
        )
        for n in range(5)
    ]
    tasks = [make_task(n) for n in range(5)]
    return [*alerts, *tasks, make_event(tasks[0].task_id, 1), make_supervision(tasks[0].task_id, 1)]


@pytest.mark.parametrize("record", records(), ids=lambda r: type(r).__name__)
def test_a_body_is_the_old_text(record: BaseModel) -> None:
    assert _json(_body(record)) == old_body(record)


def test_the_stored_bodies_are_the_old_text(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate(url)
    store = SqlStore(make_engine(url))
    batch = records()
    assert store.write(batch) == []
    store.write(batch)  # the cached upsert/ignore statements, a second time
    with store.engine.connect() as conn:
        stored = {
            row[0]: row[1]
            for row in conn.execute(
                sa.select(sql_tables.alerts.c.alert_id, sa.cast(sql_tables.alerts.c.body, sa.Text))
            )
        }
    for alert in batch[:5]:
        assert stored[alert.alert_id] == old_body(alert)
        assert orjson.loads(stored[alert.alert_id])["title"] == alert.title
