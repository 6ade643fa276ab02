"""The SQL task store (SQLAlchemy 2): current tasks and warnings, the audit trail, snapshots.

:class:`SqlStore` is the synchronous store — idempotent batch writes and the query helpers the
CLI and API use. :class:`SqlSink` puts it behind the sink base (outbox, batching, retries) for
the agents; its writes run in a thread so the event loop never waits on the database.

Idempotency, table by table: ``tasks`` and ``alerts`` hold the *current* row per id (upsert,
last write wins — the outbox keeps per-sink order, so the last write is the newest version; a
row is replaced only by an equal or higher ``Task.revision`` / ``Alert.revision``, so a copy
that a former owner of the partition writes late from its outbox cannot undo a newer one);
``task_events`` and ``supervision_events`` are append-only and keyed by their deterministic
event id (insert-or-ignore), so a replay adds nothing. Dead letters of the ingest are not stored
here; a record this store refuses for good is set aside in ``rejected_records`` (see
:meth:`SqlStore.write`), never left to block its sink.

>>> import tempfile
>>> from sinks.migrate import migrate
>>> url = f"sqlite:///{tempfile.mkdtemp()}/demo.db"
>>> _ = migrate(url)
>>> store = SqlStore(make_engine(url))
>>> store.save_snapshot("equipment-anomaly", "1", "abc", {"equipment.readings:0": 41}, b"...")
1
>>> store.latest_snapshot("equipment-anomaly").offsets
{'equipment.readings:0': 41}
"""

from __future__ import annotations

import asyncio
import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.dialects import postgresql, sqlite

from schemas.notification import NotificationAttempt, NotificationIntent
from schemas.records import Alert, SupervisionEvent, Task, TaskEvent
from sinks import sql_tables
from sinks.base import Sink, SinkMetrics, last_versions
from sinks.errors import StoreError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from sqlalchemy.engine import URL, Connection, Engine

    from config.settings import Settings

log = logging.getLogger(__name__)

_REGION_PREFIX = re.compile(r"\d{2}(\d{2}){0,2}", re.ASCII)  # not "１１" or "١١"
_INSERTS: dict[str, Callable[[sa.Table], Any]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


def sql_url(settings: Settings) -> URL:
    """``settings.sql_url`` with its password added (kept out of the plain URL): ``sql_password``,
    or the dev stack's generated one (:attr:`config.settings.Settings.sql_secret`)."""
    url = sa.make_url(settings.sql_url)
    secret = settings.sql_secret
    if secret is not None and secret.get_secret_value():
        url = url.set(password=secret.get_secret_value())
    return url


def make_engine(url: str | URL) -> Engine:
    """An engine that survives the database restarting, for SQLite and PostgreSQL.

    ``pool_pre_ping`` drops connections the server closed while it was away; a short connect
    timeout makes a failed flush fail fast (and be retried) instead of hanging the flusher.
    """
    url = sa.make_url(url)
    if url.get_backend_name() not in _INSERTS:
        raise StoreError(f"the SQL store supports SQLite and PostgreSQL, not {url.drivername}")
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": 30}, json_serializer=_json)
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)

        @sa.event.listens_for(engine, "connect")
        def _wal(dbapi_conn: Any, _: Any) -> None:
            # WAL: the API can read while the sink writes.
            dbapi_conn.execute("PRAGMA journal_mode=WAL")

        return engine
    return sa.create_engine(
        url, pool_pre_ping=True, connect_args={"connect_timeout": 5}, json_serializer=_json
    )


def _json(value: Any) -> str:
    """JSON columns through orjson: the stdlib encoder was a tenth of a batch's CPU, every
    warning's body being ~10 KB of JSON. Same values; non-ASCII is written as UTF-8, not
    escaped (both databases store text as UTF-8)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


class TaskStory(BaseModel):
    """Everything known about one task, in order: the current row, transitions, 催办/督办, and
    every attempt to notify someone about it."""

    model_config = ConfigDict(frozen=True)

    task: Task | None
    events: list[TaskEvent]
    supervision: list[SupervisionEvent]
    notifications: list[NotificationAttempt] = []


@dataclass(frozen=True)
class StoredSnapshot:
    """A model snapshot row: state bytes tied to the source offsets they had seen."""

    name: str
    version: str
    content_hash: str
    offsets: dict[str, int]
    state: bytes
    created_at: datetime


class SqlStore:
    """Writes and queries on the task store. Thread-safe (one engine, pooled connections)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = _INSERTS[engine.dialect.name]
        self._statements: dict[tuple[str, str], Any] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> SqlStore:
        """The store the settings name, with the password the settings resolve (the dev
        stack's generated one when none is set).
        """
        return cls(make_engine(sql_url(settings)))

    def close(self) -> None:
        """Close every pooled connection: a worker that stops leaves no session behind."""
        self.engine.dispose()

    # ------------------------------------------------------------------ writes

    def write(self, records: Sequence[BaseModel], *, sink: str = "sql") -> list[Rejected]:
        """Write ``records`` in one transaction: upserts for current rows, insert-or-ignore
        for events. Within the batch the last version of a task or alert wins.

        A record the store refuses for good (a value longer than its column, bytes PostgreSQL
        will not take) must not block the good ones queued with it forever: it is set aside in
        ``rejected_records`` with the reason, the rest is written, and the set-aside ones are
        returned. A column-length check finds most before the database does (SQLite enforces no
        lengths); anything else the database refuses as data is found by writing the batch one
        record at a time. An error that is not about the data (the database is away) raises
        :class:`StoreError` and the whole batch is retried.
        """
        latest = last_versions(records, lambda r: (type(r), _KEYS[type(r)](r)))
        # each record's row once: its JSON body is most of a batch's CPU (2026-12-03 "sinks")
        rows = [(r, _TARGETS[type(r)][1](r)) for r in latest]
        rejected: list[Rejected] = []
        fit: list[tuple[BaseModel, dict[str, Any]]] = []
        for record, row in rows:
            why = _unfit(type(record), row)
            if why:
                rejected.append(Rejected(record, why))
            else:
                fit.append((record, row))
        try:
            self._write_rows(fit)
        except StoreError as exc:
            if not _refused_for_good(exc):
                raise
            for one_row in fit:  # find the refused ones; the others go in
                try:
                    self._write_rows([one_row])
                except StoreError as one:
                    if not _refused_for_good(one):
                        raise
                    rejected.append(Rejected(one_row[0], _reason(one)))
        if rejected:
            self._set_aside(sink, rejected)
        return rejected

    def _write_rows(self, rows: Sequence[tuple[BaseModel, dict[str, Any]]]) -> None:
        """One transaction, one executemany per table (psycopg pipelines it: one round trip)."""
        if not rows:
            return
        by_type: dict[type, list[dict[str, Any]]] = {}
        for record, row in rows:
            by_type.setdefault(type(record), []).append(row)
        with self._begin("writing a batch") as conn:
            for kind, group in by_type.items():
                table, _, upsert = _TARGETS[kind]
                conn.execute(self._upsert(table) if upsert else self._ignore(table), group)

    def _set_aside(self, sink: str, rejected: Sequence[Rejected]) -> None:
        at = datetime.now(UTC)
        rows = [
            {
                "sink": sink,
                "kind": type(r.record).__name__,
                "record_key": _KEYS[type(r.record)](r.record),
                "reason": r.reason,
                "payload": r.record.model_dump_json(),
                "rejected_at": at,
            }
            for r in rejected
        ]
        t = sql_tables.rejected_records
        with self._begin(f"setting {len(rows)} refused records aside") as conn:
            # a replayed batch (crash before the outbox ack) sets nothing aside twice
            held = conn.execute(
                sa.select(t.c.kind, t.c.record_key, t.c.payload).where(
                    t.c.sink == sink, t.c.record_key.in_({r["record_key"] for r in rows})
                )
            ).all()
            seen = {tuple(row) for row in held}
            new = [r for r in rows if (r["kind"], r["record_key"], r["payload"]) not in seen]
            if new:
                conn.execute(sa.insert(t), new)

    def rejected(self, limit: int = 100) -> list[dict[str, Any]]:
        """Records set aside (newest first), for an operator to fix and replay by hand."""
        r = sql_tables.rejected_records
        query = sa.select(r).order_by(r.c.rejected_at.desc(), r.c.id.desc()).limit(limit)
        with self._begin("reading rejected records") as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def _upsert(self, table: sa.Table) -> Any:
        stmt = self._statements.get(("upsert", table.name))
        if stmt is None:  # built once per table: an immutable statement, ~0.1 ms to build
            stmt = self._statements["upsert", table.name] = self._build_upsert(table)
        return stmt

    def _ignore(self, table: sa.Table) -> Any:
        stmt = self._statements.get(("ignore", table.name))
        if stmt is None:
            stmt = self._statements["ignore", table.name] = self._build_ignore(table)
        return stmt

    def _build_upsert(self, table: sa.Table) -> Any:
        """Insert, or replace the row with the same key. A table with a ``revision`` column
        (``tasks``, ``alerts``) is replaced only by an equal or higher revision: an older copy,
        written late from a former owner's outbox, leaves the newer row as it is."""
        stmt = self._insert(table)
        key = [c.name for c in table.primary_key.columns]
        update = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in key}
        if "revision" not in table.c:
            return stmt.on_conflict_do_update(index_elements=key, set_=update)
        newer = table.c.revision <= stmt.excluded.revision
        return stmt.on_conflict_do_update(index_elements=key, set_=update, where=newer)

    def _build_ignore(self, table: sa.Table) -> Any:
        key = ["event_id"] if "event_id" in table.c else [c.name for c in table.primary_key]
        return self._insert(table).on_conflict_do_nothing(index_elements=key)

    def save_snapshot(
        self,
        name: str,
        version: str,
        content_hash: str,
        offsets: Mapping[str, int],
        state: bytes,
        created_at: datetime | None = None,
    ) -> int:
        """Store a model snapshot; its row id. Written directly (not through the outbox):
        a lost snapshot costs a longer replay, never data."""
        row = {
            "name": name,
            "version": version,
            "content_hash": content_hash,
            "offsets": dict(offsets),
            "state": state,
            "created_at": created_at or datetime.now(UTC),
        }
        with self._begin(f"saving a snapshot of {name}") as conn:
            result = conn.execute(sa.insert(sql_tables.model_snapshots).values(**row))
            key = result.inserted_primary_key
            assert key is not None  # an INSERT of one row always has one
            return int(key[0])

    # ------------------------------------------------------------------ queries

    def task_with_audit(self, task_id: str) -> TaskStory | None:
        """The task's current row and its whole story in order; None if it is unknown."""
        ev, sup = sql_tables.task_events, sql_tables.supervision_events
        with self._begin(f"reading task {task_id}") as conn:
            body = conn.execute(
                sa.select(sql_tables.tasks.c.body).where(sql_tables.tasks.c.task_id == task_id)
            ).scalar_one_or_none()
            events = conn.execute(
                sa.select(ev).where(ev.c.task_id == task_id).order_by(ev.c.at, ev.c.seq)
            ).mappings()
            story_events = [TaskEvent.model_validate(_drop(row, "seq")) for row in events]
            supervision = conn.execute(
                sa.select(sup).where(sup.c.task_id == task_id).order_by(sup.c.at, sup.c.event_id)
            ).mappings()
            story_supervision = [SupervisionEvent.model_validate(dict(row)) for row in supervision]
            # the task's own notifications and its warning's (the red warning that opened it)
            subjects = {task_id} | ({body["alert_id"]} if isinstance(body, dict) else set())
            na = sql_tables.notification_attempts
            attempts = conn.execute(
                sa.select(na).where(na.c.subject_id.in_(subjects)).order_by(na.c.seq)
            ).mappings()
            notified = [NotificationAttempt.model_validate(dict(row)) for row in attempts]
        if body is None and not story_events and not story_supervision:
            return None
        return TaskStory(
            task=None if body is None else Task.model_validate(body),
            events=story_events,
            supervision=story_supervision,
            notifications=notified,
        )

    def has_alerts_table(self) -> bool:
        """Whether a worker has created the store's tables yet (a reader on a fresh deployment
        finds nothing stored, rather than an error)."""
        return self.has_table(sql_tables.alerts.name)

    def has_table(self, name: str) -> bool:
        """Whether the store has table ``name`` (the migrations have reached it)."""
        try:
            return bool(sa.inspect(self.engine).has_table(name))
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"SQL store: cannot read its tables: {exc}") from exc

    def list_alerts(
        self,
        level: str | None = None,
        source: str | None = None,
        region: str | None = None,
        state: str | None = None,
        limit: int = 100,
        regions: Sequence[str] | None = None,
    ) -> list[Alert]:
        """Current warnings, newest change first. ``region`` is a GB/T 2260 prefix
        (``"3301"`` is every county of Hangzhou); ``regions``, if given, the prefixes a
        person may see (any of them; none at all: no warning)."""
        for prefix in ([] if region is None else [region]) + list(regions or ()):
            if not _REGION_PREFIX.fullmatch(prefix):
                raise StoreError(f"region {prefix!r} must be 2, 4 or 6 digits of a GB/T 2260 code")
        a = sql_tables.alerts
        query = sa.select(a.c.body).order_by(a.c.last_seen.desc(), a.c.alert_id).limit(limit)
        for column, value in (("level", level), ("source", source), ("state", state)):
            if value is not None:
                query = query.where(a.c[column] == value)
        if region is not None:
            query = query.where(a.c.region_code.startswith(region, autoescape=True))
        if regions is not None:
            query = query.where(
                sa.or_(
                    sa.false(), *(a.c.region_code.startswith(r, autoescape=True) for r in regions)
                )
            )
        with self._begin("listing alerts") as conn:
            return [Alert.model_validate(body) for body in conn.execute(query).scalars()]

    def get_alert(self, alert_id: str) -> Alert | None:
        """The latest record of one warning (epoch), or None."""
        a = sql_tables.alerts
        with self._begin(f"reading warning {alert_id}") as conn:
            body = conn.execute(sa.select(a.c.body).where(a.c.alert_id == alert_id)).scalar()
        return None if body is None else Alert.model_validate(body)

    def list_tasks(
        self, department: str | None = None, state: str | None = None, limit: int = 100
    ) -> list[Task]:
        """Tasks, the nearest disposal deadline first, optionally of one department or state."""
        t = sql_tables.tasks
        query = sa.select(t.c.body).order_by(t.c.dispose_deadline, t.c.task_id).limit(limit)
        if department is not None:
            query = query.where(t.c.department == department)
        if state is not None:
            query = query.where(t.c.state == state)
        with self._begin("listing tasks") as conn:
            return [Task.model_validate(body) for body in conn.execute(query).scalars()]

    def latest_snapshot(self, name: str) -> StoredSnapshot | None:
        """The newest snapshot of model ``name``, or None."""
        s = sql_tables.model_snapshots
        query = (
            sa.select(s).where(s.c.name == name).order_by(s.c.created_at.desc(), s.c.id.desc())
        ).limit(1)
        with self._begin(f"reading the latest snapshot of {name}") as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else StoredSnapshot(**_drop(row, "id"))

    def iter_tasks(self, *, open_only: bool = True, chunk: int = 1000) -> Iterator[Task]:
        """Every (open) task, for rebuilding the Redis views."""
        t = sql_tables.tasks
        query = sa.select(t.c.body).order_by(t.c.task_id)
        if open_only:
            query = query.where(t.c.state != "closed")
        with self._begin("reading tasks") as conn:
            for body in conn.execution_options(yield_per=chunk).execute(query).scalars():
                yield Task.model_validate(body)

    def alerts_since(self, since: datetime) -> list[Alert]:
        """Warnings changed since ``since`` (non-shadow), oldest first."""
        a = sql_tables.alerts
        query = (
            sa.select(a.c.body)
            .where(a.c.last_seen >= since, a.c.shadow.is_(False))
            .order_by(a.c.last_seen, a.c.alert_id)
        )
        with self._begin("reading recent alerts") as conn:
            return [Alert.model_validate(body) for body in conn.execute(query).scalars()]

    def transaction(self, what: str) -> Any:
        """A transaction for a module that keeps its own tables here (sinks/notify/queue.py);
        SQLAlchemy errors become :class:`StoreError` saying ``what`` failed."""
        return self._begin(what)

    @contextmanager
    def _begin(self, what: str) -> Iterator[Connection]:
        """``engine.begin()`` whose SQLAlchemy errors become :class:`StoreError` with context."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"SQL store: {what} failed: {_first_line(exc)}") from exc


def _first_line(exc: sa.exc.SQLAlchemyError) -> str:
    """The database's own words, one line: SQLAlchemy adds the statement and its parameters on
    further lines (the log has them; a person at a terminal needs the reason).

    >>> _first_line(sa.exc.OperationalError("SELECT 1", {}, Exception("no such table: x")))
    'no such table: x'
    """
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass(frozen=True)
class Rejected:
    """A record the store refused for good, and why."""

    record: BaseModel
    reason: str


def _unfit(kind: type, row: Mapping[str, Any]) -> str | None:
    """Why a record's ``row`` cannot go into its table's columns, or None (lengths, on every
    dialect)."""
    table = _TARGETS[kind][0]
    for column in table.columns:
        length = getattr(column.type, "length", None)
        value = row.get(column.name)
        if length is not None and isinstance(value, str) and len(value) > length:
            return (
                f"{column.name} is {len(value)} characters; {table.name}.{column.name} "
                f"takes {length}"
            )
    return None


def _refused_for_good(exc: StoreError) -> bool:
    """The database refused the data itself (retrying the same rows cannot help)."""
    cause = exc.__cause__
    if isinstance(cause, sa.exc.DataError | sa.exc.IntegrityError):
        return True
    # raised while binding parameters (before the database saw them), not a connection error
    return isinstance(cause, sa.exc.StatementError) and not isinstance(cause, sa.exc.DBAPIError)


def _reason(exc: StoreError) -> str:
    cause = exc.__cause__
    orig = getattr(cause, "orig", None) or cause or exc
    text = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {text[0] if text else ''}"[:500]


def _drop(row: Mapping[Any, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != key}


def _columns(record: BaseModel, table: sa.Table) -> dict[str, Any]:
    data = dict(record)
    row = {c.name: data[c.name] for c in table.columns if c.name in data}
    if "body" in table.columns:
        row["body"] = _body(record)
    return row


def _body(record: BaseModel) -> orjson.Fragment:
    """A record's JSON body as pydantic-core writes it, handed to :func:`_json` as a finished
    fragment. Why: ``model_dump(mode="json")`` built a tree of dicts only for orjson to encode
    it again, most of a batch's CPU in the sink thread (2026-12-03 ``ckpt``); the text is the
    same (tests/unit/sinks/test_sql_body.py pins it)."""
    return orjson.Fragment(record.__pydantic_serializer__.to_json(record))


def _queued(intent: BaseModel) -> dict[str, Any]:
    """A new queue row: pending, never tried, first try when its group has waited."""
    assert isinstance(intent, NotificationIntent)
    row = _columns(intent, sql_tables.notifications)
    return {**row, "status": "pending", "attempts": 0, "next_attempt_at": intent.due_at}


_KEYS: dict[type, Callable[[Any], str]] = {
    Task: lambda r: r.task_id,
    Alert: lambda r: r.alert_id,
    TaskEvent: lambda r: r.event_id,
    SupervisionEvent: lambda r: r.event_id,
    NotificationIntent: lambda r: r.intent_id,
}
_TARGETS: dict[type, tuple[sa.Table, Callable[[BaseModel], dict[str, Any]], bool]] = {
    Task: (sql_tables.tasks, lambda r: _columns(r, sql_tables.tasks), True),
    Alert: (sql_tables.alerts, lambda r: _columns(r, sql_tables.alerts), True),
    TaskEvent: (sql_tables.task_events, lambda r: _columns(r, sql_tables.task_events), False),
    SupervisionEvent: (
        sql_tables.supervision_events,
        lambda r: _columns(r, sql_tables.supervision_events),
        False,
    ),
    # queued once: a replayed intent must not reset one already sent (insert-or-ignore)
    NotificationIntent: (sql_tables.notifications, _queued, False),
}


class SqlSink(Sink):
    """Tasks, task events, alerts, supervision events and queued notifications into the SQL
    store, never lost.

    ``auto_migrate`` runs ``upgrade head`` before the first write (inside the retry loop, so a
    database that is away at start-up is no problem).
    """

    record_types = (Task, TaskEvent, Alert, SupervisionEvent, NotificationIntent)

    def __init__(
        self, store: SqlStore, outbox_path: Path, *, auto_migrate: bool = True, **options: Any
    ) -> None:
        options.setdefault("name", "sql")
        super().__init__(outbox_path=outbox_path, **options)
        self.store = store
        self._migrated = not auto_migrate

    @classmethod
    def from_settings(
        cls, settings: Settings, metrics: SinkMetrics | None = None, **options: Any
    ) -> SqlSink:
        """The worker's SQL sink: store from ``sql_url``, outbox under ``data_dir/outbox``."""
        name = options.pop("name", "sql")
        outbox = settings.data_dir / "outbox" / f"{name}.sqlite3"
        return cls(SqlStore.from_settings(settings), outbox, name=name, metrics=metrics, **options)

    def latest(self, records: Sequence[BaseModel]) -> list[BaseModel]:
        """The last version of each task and alert (rows upserted by id); every event and
        queued notification (inserted once, never replaced)."""
        return last_versions(
            records,
            lambda r: (type(r), _KEYS[type(r)](r)) if _TARGETS[type(r)][2] else (None, id(r)),
        )

    async def _prepare_target(self) -> None:
        """Migrate (and so connect) at start, in a thread: Alembic's import and the upgrade
        took ~2 s of the first checkpoint when they waited for the first write."""
        await asyncio.to_thread(self._migrate)

    async def _write(self, batch: Sequence[BaseModel]) -> None:
        await asyncio.to_thread(self._write_sync, batch)

    def _migrate(self) -> None:
        if not self._migrated:
            from sinks.migrate import migrate

            migrate(self.store.engine)
            self._migrated = True

    def _write_sync(self, batch: Sequence[BaseModel]) -> None:
        self._migrate()
        for refused in self.store.write(batch, sink=self.name):
            kind = type(refused.record).__name__
            log.error(
                "sink %s set aside %s %s (in rejected_records): %s",
                self.name,
                kind,
                _KEYS[type(refused.record)](refused.record)[:200],
                refused.reason,
            )
            if self._metrics is not None:
                self._metrics.sink_rejected.labels(sink=self.name, kind=kind).inc()

    async def _close_target(self) -> None:
        self.store.close()
