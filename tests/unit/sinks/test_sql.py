"""The SQL store on SQLite: migrations, idempotent upserts, the audit story, alert queries."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pydantic import SecretStr

from schemas.records import AlertState, Level, TaskState
from sinks import sql_tables
from sinks.errors import StoreError
from sinks.migrate import migrate
from sinks.sql import SqlSink, SqlStore, make_engine, sql_url
from tests.unit.sinks.factories import T0, make_alert, make_event, make_supervision, make_task

if TYPE_CHECKING:
    from pathlib import Path

    from config.settings import Settings


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def store(url: str) -> SqlStore:
    migrate(url)
    return SqlStore(make_engine(url))


def count(store: SqlStore, table: sa.Table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_migrate_is_repeatable_and_matches_the_tables_module(url: str) -> None:
    assert migrate(url) == "0006_alert_revision"
    assert migrate(url) == "0006_alert_revision"
    engine = make_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), sql_tables.metadata)
    assert diff == []


def test_a_store_no_worker_has_migrated_says_so_instead_of_failing(url: str) -> None:
    """A reader (the silence preview) on a fresh deployment finds nothing stored, not an error."""
    fresh = SqlStore(make_engine(url))
    assert fresh.has_alerts_table() is False
    with pytest.raises(StoreError, match="no such table"):
        fresh.list_alerts()
    migrate(url)
    assert fresh.has_alerts_table() is True
    assert fresh.list_alerts() == []


def test_writing_the_same_batch_twice_stores_each_row_once(store: SqlStore) -> None:
    task = make_task(1)
    batch = [
        task,
        *[make_event(task.task_id, n) for n in range(3)],
        make_alert(1),
        make_supervision(task.task_id, 1),
    ]
    store.write(batch)
    store.write(batch)
    assert [
        count(store, t) for t in (sql_tables.tasks, sql_tables.task_events, sql_tables.alerts)
    ] == [1, 3, 1]
    assert count(store, sql_tables.supervision_events) == 1


def test_the_last_version_of_a_task_wins_within_and_across_batches(store: SqlStore) -> None:
    store.write([make_task(1), make_task(1, state=TaskState.signed)])
    story = store.task_with_audit("task-1")
    assert story is not None
    assert story.task is not None
    assert story.task.state is TaskState.signed
    store.write([make_task(1, state=TaskState.closed, returns=1)])
    story = store.task_with_audit("task-1")
    assert story is not None
    assert story.task == make_task(1, state=TaskState.closed, returns=1)


def test_a_late_older_revision_of_a_task_leaves_the_newer_row(store: SqlStore) -> None:
    """A former owner's outbox flushing late: its older copy must not undo the newer one."""
    store.write([make_task(1, state=TaskState.signed, revision=3)])  # the new owner's
    store.write([make_task(1, state=TaskState.dispatched, revision=2)])  # the old one's, late
    story = store.task_with_audit("task-1")
    assert story is not None
    assert story.task == make_task(1, state=TaskState.signed, revision=3)
    with store.engine.connect() as conn:
        stored = conn.execute(sa.select(sql_tables.tasks.c.state, sql_tables.tasks.c.revision))
        assert [tuple(row) for row in stored] == [("signed", 3)]
    store.write([make_task(1, state=TaskState.signed, revision=3, returns=1)])  # same: rewrites
    story = store.task_with_audit("task-1")
    assert story is not None
    assert story.task is not None
    assert story.task.returns == 1
    store.write([make_task(1, state=TaskState.disposed, revision=4)])  # newer: replaces
    story = store.task_with_audit("task-1")
    assert story is not None
    assert story.task == make_task(1, state=TaskState.disposed, revision=4)


def test_a_late_older_revision_of_a_warning_leaves_the_newer_row(store: SqlStore) -> None:
    """The same for warnings: the new owner's red, then the old owner's yellow, late."""
    store.write([make_alert(1, level=Level.red, revision=3)])
    store.write([make_alert(1, level=Level.yellow, revision=2)])
    assert store.get_alert("fp-1.1") == make_alert(1, level=Level.red, revision=3)
    with store.engine.connect() as conn:
        stored = conn.execute(sa.select(sql_tables.alerts.c.level, sql_tables.alerts.c.revision))
        assert [tuple(row) for row in stored] == [("red", 3)]
    store.write([make_alert(1, level=Level.red, revision=3, occurrences=2)])  # same: rewrites
    assert store.get_alert("fp-1.1") == make_alert(1, level=Level.red, revision=3, occurrences=2)
    store.write([make_alert(1, state=AlertState.resolved, level=Level.red, revision=4)])
    resolved = store.get_alert("fp-1.1")
    assert resolved is not None
    assert (resolved.state, resolved.revision) == (AlertState.resolved, 4)


def test_task_with_audit_tells_the_story_in_order(store: SqlStore) -> None:
    tid = "task-9"
    created = make_event(tid, 0, to_state=TaskState.created)
    # Same timestamp as "created": insertion order breaks the tie.
    dispatched = make_event(
        tid, 99, at=created.at, from_state=TaskState.created, to_state=TaskState.dispatched
    )
    signed = make_event(
        tid,
        5,
        from_state=TaskState.dispatched,
        to_state=TaskState.signed,
        actor="officer-li",
        reason="签收",
    )
    store.write([make_task(9), created, dispatched])
    store.write([signed, make_supervision(tid, 2), make_supervision(tid, 1)])
    store.write([make_event("task-other", 1)])
    story = store.task_with_audit(tid)
    assert story is not None
    assert story.events == [created, dispatched, signed]
    assert [s.event_id for s in story.supervision] == [f"{tid}-sup-1", f"{tid}-sup-2"]
    assert store.task_with_audit("nope") is None


def test_timestamps_come_back_as_the_same_instant_in_utc(store: SqlStore) -> None:
    cst = timezone(timedelta(hours=8))
    event = make_event("task-1", 0, at=T0.astimezone(cst))
    store.write([event])
    story = store.task_with_audit("task-1")
    assert story is not None
    (back,) = story.events
    assert back.at == T0
    assert back.at.utcoffset() == timedelta(0)


def test_list_alerts_filters_and_orders_newest_first(store: SqlStore) -> None:
    store.write(
        [
            make_alert(1, level=Level.red, region_code="330106"),
            make_alert(2, level=Level.yellow, region_code="330102", source="complaints"),
            make_alert(3, level=Level.red, region_code="320100", state=AlertState.resolved),
            make_alert(4, level=Level.red, region_code="330106", shadow=True),
        ]
    )
    ids = lambda alerts: [a.alert_id for a in alerts]  # noqa: E731
    assert ids(store.list_alerts()) == ["fp-4.1", "fp-3.1", "fp-2.1", "fp-1.1"]
    assert ids(store.list_alerts(level="red", region="3301")) == ["fp-4.1", "fp-1.1"]
    assert ids(store.list_alerts(source="complaints")) == ["fp-2.1"]
    assert ids(store.list_alerts(state="resolved")) == ["fp-3.1"]
    assert ids(store.list_alerts(limit=1)) == ["fp-4.1"]
    assert store.list_alerts(region="3301")[0] == make_alert(
        4, level=Level.red, region_code="330106", shadow=True
    )
    with pytest.raises(StoreError, match="GB/T 2260"):
        store.list_alerts(region="33%")


def test_snapshots_latest_wins(store: SqlStore) -> None:
    assert store.latest_snapshot("m") is None
    store.save_snapshot("m", "1", "h1", {"t:0": 1}, b"one", created_at=T0)
    store.save_snapshot("m", "2", "h2", {"t:0": 9}, b"two", created_at=T0 + timedelta(hours=1))
    store.save_snapshot("other", "1", "h3", {}, b"x", created_at=T0 + timedelta(hours=2))
    latest = store.latest_snapshot("m")
    assert latest is not None
    assert (latest.version, latest.offsets, latest.state) == ("2", {"t:0": 9}, b"two")
    assert latest.created_at == T0 + timedelta(hours=1)


def test_queries_on_an_unmigrated_store_fail_with_context(url: str) -> None:
    with pytest.raises(StoreError, match="listing alerts"):
        SqlStore(make_engine(url)).list_alerts()


def test_password_is_added_to_the_url_only_when_set(settings: Settings) -> None:
    pg = settings.with_overrides(sql_url="postgresql+psycopg://riskloop@db:5432/riskloop")
    assert sql_url(pg).password is None
    url = sql_url(pg.with_overrides(sql_password=SecretStr("s3cr/t@")))
    assert url.password == "s3cr/t@"
    assert url.host == "db"
    assert "s3cr" not in repr(url)


def test_other_databases_are_refused() -> None:
    with pytest.raises(StoreError, match="SQLite and PostgreSQL"):
        make_engine("mysql://x@localhost/db")


async def test_sql_sink_migrates_on_first_write_and_stores_everything(
    settings: Settings,
) -> None:
    sink = SqlSink.from_settings(settings, batch_size=10, max_delay=60)
    await sink.start()
    await sink.add_many([make_task(n) for n in range(25)])
    await sink.add_many([make_event(f"task-{n}", 0) for n in range(25)])
    assert await sink.flush() == 50
    await sink.stop()
    store = SqlStore.from_settings(settings)
    assert (count(store, sql_tables.tasks), count(store, sql_tables.task_events)) == (25, 25)
    assert (settings.data_dir / "outbox" / "sql.sqlite3").exists()


def test_a_value_too_long_for_its_column_is_set_aside_on_sqlite_too(store: SqlStore) -> None:
    """SQLite enforces no lengths; the store does, so SQLite and PostgreSQL agree."""
    bad = make_event("task-1", 1, department="d" * 129)
    refused = store.write([make_task(1), bad, make_event("task-1", 2)], sink="sql")
    assert [r.record for r in refused] == [bad]
    assert "department is 129 characters" in refused[0].reason
    assert count(store, sql_tables.task_events) == 1
    assert count(store, sql_tables.tasks) == 1
    (row,) = store.rejected()
    assert row["record_key"] == bad.event_id
    assert row["kind"] == "TaskEvent"
    store.write([bad], sink="sql")  # a replay of the batch sets it aside once
    assert len(store.rejected()) == 1
