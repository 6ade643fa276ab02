"""The SQL sink against the real PostgreSQL of `riskloop dev up` (fails if it is not there).

Each run works in a database of its own (`private_database`), so it never meets other
tests' tables in the shared ``riskloop`` database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from schemas.records import Level, TaskState
from sinks import sql_tables
from sinks.migrate import migrate
from sinks.sql import SqlSink, SqlStore, make_engine
from tests.integration.conftest import private_database
from tests.unit.sinks.factories import make_alert, make_event, make_supervision, make_task

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pydantic import BaseModel


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with private_database() as url:
        yield url


@pytest.fixture
def store(pg_url: str) -> Iterator[SqlStore]:
    migrate(pg_url)
    store = SqlStore(make_engine(pg_url))
    yield store
    with store.engine.begin() as conn:
        for table in reversed(sql_tables.metadata.sorted_tables):
            conn.execute(table.delete())
    store.close()


def counts(store: SqlStore) -> tuple[int, ...]:
    with store.engine.connect() as conn:
        return tuple(
            int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            for t in (
                sql_tables.tasks,
                sql_tables.task_events,
                sql_tables.alerts,
                sql_tables.supervision_events,
            )
        )


def test_migrate_twice_is_harmless(pg_url: str) -> None:
    assert migrate(pg_url) == "0006_alert_revision"
    assert migrate(pg_url) == "0006_alert_revision"
    inspector = sa.inspect(make_engine(pg_url))
    assert set(inspector.get_table_names()) >= {
        "tasks",
        "task_events",
        "alerts",
        "supervision_events",
        "model_snapshots",
    }


async def test_tasks_and_audit_written_twice_are_stored_once(
    store: SqlStore, pg_url: str, tmp_path: Path
) -> None:
    batch = [
        *[make_task(n) for n in range(20)],
        *[make_event(f"task-{n}", k) for n in range(20) for k in range(3)],
        *[make_alert(n) for n in range(20)],
        *[make_supervision(f"task-{n}", 1) for n in range(20)],
    ]
    for attempt in range(2):  # a replay after a crash writes everything again
        sink = SqlSink(store, tmp_path / f"outbox-{attempt}.sqlite3", batch_size=50, max_delay=60)
        await sink.start()
        await sink.add_many(batch)
        assert await sink.flush() == len(batch)
        await sink.stop()
    assert counts(store) == (20, 60, 20, 20)


async def _write_in_turn(store: SqlStore, tmp_path: Path, *records: BaseModel) -> None:
    """Each record from its own worker's outbox, flushed in the order given."""
    for n, record in enumerate(records):
        sink = SqlSink(store, tmp_path / f"owner-{n}.sqlite3", batch_size=50, max_delay=60)
        await sink.start()
        await sink.add_many([record])
        assert await sink.flush() == 1
        await sink.stop()


async def test_a_former_owners_late_outbox_cannot_undo_a_newer_task(
    store: SqlStore, tmp_path: Path
) -> None:
    """Two workers' outboxes: the partition's new owner writes revision 3 of a task; the old
    owner's copy (revision 2, held while the database was away) is flushed after it."""
    new, old = (make_task(1, state=s, revision=r) for s, r in (("signed", 3), ("dispatched", 2)))
    await _write_in_turn(store, tmp_path, new, old)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(sql_tables.tasks.c.state, sql_tables.tasks.c.revision))
        assert [tuple(row) for row in rows] == [("signed", 3)]
    story = store.task_with_audit("task-1")
    assert story is not None
    assert story.task == new


async def test_a_former_owners_late_outbox_cannot_undo_a_newer_warning(
    store: SqlStore, tmp_path: Path
) -> None:
    """The same for a warning: the new owner's red (revision 3), the old owner's yellow (2)."""
    new, old = (
        make_alert(1, level=lv, revision=r) for lv, r in ((Level.red, 3), (Level.yellow, 2))
    )
    await _write_in_turn(store, tmp_path, new, old)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(sql_tables.alerts.c.level, sql_tables.alerts.c.revision))
        assert [tuple(row) for row in rows] == [("red", 3)]
    assert store.get_alert("fp-1.1") == new


async def test_a_row_postgresql_refuses_is_set_aside_and_the_rest_of_its_batch_goes_in(
    store: SqlStore, tmp_path: Path
) -> None:
    """One 129-character actor (and one NUL byte, which only the database finds) among good
    rows: the good rows are written, the bad ones set aside with their content, nothing blocks."""
    from streams.metrics import Metrics

    long_actor = make_event("task-1", 1, actor="a" * 129)
    nul = make_event("task-1", 2, reason="bad\x00byte")
    good = [make_task(1), make_event("task-1", 0), make_alert(1), make_event("task-1", 3)]
    metrics = Metrics()
    sink = SqlSink(store, tmp_path / "outbox.sqlite3", batch_size=50, max_delay=60, metrics=metrics)
    await sink.start()
    await sink.add_many([good[0], good[1], long_actor, good[2], nul, good[3]])
    assert await sink.flush() == 6
    assert sink.backlog == 0
    await sink.add(make_event("task-1", 4))  # the sink goes on
    assert await sink.flush() == 1
    await sink.stop()
    assert counts(store) == (1, 3, 1, 0)
    story = store.task_with_audit("task-1")
    assert story is not None
    assert [e.event_id for e in story.events] == ["task-1-ev-0", "task-1-ev-3", "task-1-ev-4"]
    aside = {r["record_key"]: r for r in store.rejected()}
    assert set(aside) == {long_actor.event_id, nul.event_id}
    assert "actor is 129 characters" in aside[long_actor.event_id]["reason"]
    assert "DataError" in aside[nul.event_id]["reason"]
    assert aside[long_actor.event_id]["payload"] == long_actor.model_dump_json()
    labels = {"sink": "sql", "kind": "TaskEvent"}
    assert metrics.registry.get_sample_value("riskloop_sink_rejected_total", labels) == 2


def test_a_task_story_comes_back_in_order(store: SqlStore) -> None:
    tid = "task-1"
    moves = [
        make_event(tid, 0, to_state=TaskState.created),
        make_event(
            tid, 0, event_id="e-b", from_state=TaskState.created, to_state=TaskState.dispatched
        ),  # same instant: insertion order decides
        make_event(
            tid,
            30,
            event_id="e-c",
            from_state=TaskState.dispatched,
            to_state=TaskState.signed,
            actor="officer-wang",
            reason="签收",
        ),
        make_event(
            tid,
            90,
            event_id="e-d",
            from_state=TaskState.signed,
            to_state=TaskState.in_progress,
            actor="officer-wang",
        ),
    ]
    store.write([make_task(1), *moves[:2]])
    store.write([moves[3], make_supervision(tid, 1)])  # later events may arrive first ...
    store.write([moves[2], make_task(1, state=TaskState.in_progress)])
    story = store.task_with_audit(tid)
    assert story is not None
    assert story.task is not None
    assert story.task.state is TaskState.in_progress
    assert story.events == moves  # ... the story is still told by time
    assert [s.event_id for s in story.supervision] == [f"{tid}-sup-1"]


def test_alert_queries_and_snapshots(store: SqlStore) -> None:
    store.write([make_alert(1, region_code="330106"), make_alert(2, region_code="320100")])
    assert [a.alert_id for a in store.list_alerts(region="33")] == ["fp-1.1"]
    store.save_snapshot("m", "1", "h", {"t:0": 3}, b"\x00\x01state")
    snap = store.latest_snapshot("m")
    assert snap is not None
    assert snap.state == b"\x00\x01state"


async def test_an_address_as_entity_is_stored_whole(store: SqlStore, tmp_path: Path) -> None:
    """A complaint without a USCC takes its address (up to 512 characters) as the warning's
    entity: its alert and task rows go in, none is set aside (migration 0003)."""
    address = "杭州市西湖区" + "某路某号" * 100 + "1号"  # 407 characters
    sink = SqlSink(store, tmp_path / "outbox.sqlite3", batch_size=50, max_delay=60)
    await sink.start()
    await sink.add_many([make_task(7, entity=address), make_alert(7, entity=address)])
    assert await sink.flush() == 2
    await sink.stop()
    assert store.rejected() == []
    with store.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT entity FROM tasks UNION SELECT entity FROM alerts")
        assert [r[0] for r in stored] == [address]
