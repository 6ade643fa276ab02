"""The SQL task store's tables, declared once (SQLAlchemy Core), for SQLite and PostgreSQL.

Every row keeps the whole record as JSON in ``body`` (what the queries hand back, exactly as
published) next to the columns the queries filter on. Alembic revisions in
``sinks/migrations/versions`` create these tables; a unit test proves the two agree.

Why ``task_events`` has a surrogate ``seq`` key with ``event_id`` unique: several transitions
of one cause share a timestamp (created → dispatched), and their event ids are hashes, so the
insertion order is the only tie-break that tells the story in order; the unique ``event_id``
keeps replays idempotent all the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored in UTC and read back aware, on every dialect.

    SQLite keeps no offset: an aware ``+08:00`` value would be stored as its wall clock and
    sort wrongly against UTC ones. So every value is converted to UTC on the way in (a naive
    one is taken as UTC — rejecting it would block the sink), and marked UTC on the way out.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Into the database: UTC, a naive value taken as UTC already."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Out of the database: an aware UTC value, whatever the dialect kept."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = UtcDateTime()

tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("task_id", sa.String(128), primary_key=True),
    sa.Column("alert_id", sa.String(128), nullable=False, index=True),
    sa.Column("fingerprint", sa.String(128), nullable=False),
    sa.Column("department", sa.String(128), nullable=False, index=True),
    sa.Column("state", sa.String(32), nullable=False, index=True),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("title", sa.Text(), nullable=False),
    sa.Column("entity", sa.String(512), nullable=False),  # an address (r0003)
    sa.Column("item_code", sa.String(64), nullable=False),
    sa.Column("uscc", sa.String(18)),
    sa.Column("region_code", sa.String(12)),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("sign_deadline", _TS, nullable=False),
    sa.Column("dispose_deadline", _TS, nullable=False),
    sa.Column("returns", sa.Integer(), nullable=False),
    sa.Column("previous_task_id", sa.String(128)),
    sa.Column("correlation_id", sa.String(128), nullable=False),
    sa.Column("body", sa.JSON(), nullable=False),
    # the highest Task.revision written: an upsert never goes back (r0005)
    sa.Column("revision", sa.BigInteger(), nullable=False, server_default="0"),
)

task_events = sa.Table(
    "task_events",
    metadata,
    sa.Column("seq", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(128), nullable=False, unique=True),
    sa.Column("task_id", sa.String(128), nullable=False, index=True),
    sa.Column("at", _TS, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("from_state", sa.String(32)),
    sa.Column("to_state", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text()),
    sa.Column("department", sa.String(128), nullable=False),
    sa.Column("correlation_id", sa.String(128), nullable=False),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("alert_id", sa.String(128), primary_key=True),
    sa.Column("fingerprint", sa.String(128), nullable=False, index=True),
    sa.Column("state", sa.String(32), nullable=False, index=True),
    sa.Column("level", sa.String(16), nullable=False, index=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("entity", sa.String(512), nullable=False),  # an address (r0003)
    sa.Column("item_code", sa.String(64), nullable=False),
    sa.Column("title", sa.Text(), nullable=False),
    sa.Column("region_code", sa.String(12), index=True),
    sa.Column("uscc", sa.String(18)),
    sa.Column("occurrences", sa.Integer(), nullable=False),
    sa.Column("first_seen", _TS, nullable=False),
    sa.Column("last_seen", _TS, nullable=False, index=True),
    sa.Column("shadow", sa.Boolean(), nullable=False),
    sa.Column("correlation_id", sa.String(128), nullable=False),
    sa.Column("body", sa.JSON(), nullable=False),
    # the highest Alert.revision written: an upsert never goes back (r0006)
    sa.Column("revision", sa.BigInteger(), nullable=False, server_default="0"),
)

supervision_events = sa.Table(
    "supervision_events",
    metadata,
    sa.Column("event_id", sa.String(128), primary_key=True),
    sa.Column("task_id", sa.String(128), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("at", _TS, nullable=False),
    sa.Column("department", sa.String(128), nullable=False),
    sa.Column("deadline", _TS, nullable=False),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("correlation_id", sa.String(128), nullable=False),
)

model_snapshots = sa.Table(
    "model_snapshots",
    metadata,
    sa.Column("id", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, index=True),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("offsets", sa.JSON(), nullable=False),
    sa.Column("state", sa.LargeBinary(), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
)

rejected_records = sa.Table(
    "rejected_records",
    metadata,
    sa.Column("id", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column("sink", sa.Text(), nullable=False),
    sa.Column("kind", sa.Text(), nullable=False),
    sa.Column("record_key", sa.Text(), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False),
    sa.Column("rejected_at", _TS, nullable=False, index=True),
)
"""Records the store refused for good (a value too long for its column, bytes PostgreSQL will not
take), set aside one by one so the rest of their batch is written. Unbounded ``Text`` columns: a
row that could not go in its own table still fits here. ``payload`` is the record's JSON."""

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("intent_id", sa.String(64), primary_key=True),
    sa.Column("subject_id", sa.String(128), nullable=False, index=True),
    sa.Column("receiver", sa.String(64), nullable=False),
    sa.Column("step", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("audience", sa.String(16), nullable=False),
    sa.Column("group_key", sa.String(512), nullable=False),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("department", sa.String(128), nullable=False),
    sa.Column("title", sa.Text(), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("correlation_id", sa.String(128), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("due_at", _TS, nullable=False),
    sa.Column("group_interval", sa.Float(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", _TS, nullable=False),
    sa.Column("sent_at", _TS),
    sa.Column("last_error", sa.Text()),
    sa.Column("lease_owner", sa.String(256)),
    sa.Column("lease_until", _TS),
    sa.UniqueConstraint("subject_id", "receiver", "step", name="uq_notifications_once"),
)
"""The notification queue (sinks/notify/queue.py): one row per (warning or task, receiver,
step), inserted once whatever the replays, then updated by the sender until ``status`` is
``sent``. ``lease_*`` keep two workers' senders from sending the same row at once."""

notification_attempts = sa.Table(
    "notification_attempts",
    metadata,
    sa.Column("seq", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column("intent_id", sa.String(64), nullable=False, index=True),
    sa.Column("subject_id", sa.String(128), nullable=False, index=True),
    sa.Column("receiver", sa.String(64), nullable=False),
    sa.Column("step", sa.String(128), nullable=False),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("at", _TS, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
)
"""The notifications' audit trail (全程留痕): every attempt to send, and how it went."""
