"""Initial task store: tasks, task_events, alerts, supervision_events, model_snapshots.

Revision ID: 0001_initial
Revises:
Create Date: 2024-06-03

Written out in full (not generated from ``sinks.sql_tables`` at run time): a revision is a fact
about the past and must not change when the tables module does.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """The task store as it was first released: tasks and their events, alerts,
    supervision events and model snapshots, with their indexes.
    """
    op.create_table(
        "tasks",
        sa.Column("task_id", sa.String(128), nullable=False),
        sa.Column("alert_id", sa.String(128), nullable=False),
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("department", sa.String(128), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("entity", sa.String(128), nullable=False),
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
        sa.PrimaryKeyConstraint("task_id", name="pk_tasks"),
    )
    op.create_index("ix_tasks_alert_id", "tasks", ["alert_id"])
    op.create_index("ix_tasks_department", "tasks", ["department"])
    op.create_index("ix_tasks_state", "tasks", ["state"])

    op.create_table(
        "task_events",
        sa.Column("seq", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("task_id", sa.String(128), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("from_state", sa.String(32)),
        sa.Column("to_state", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("department", sa.String(128), nullable=False),
        sa.Column("correlation_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_task_events"),
        sa.UniqueConstraint("event_id", name="uq_task_events_event_id"),
    )
    op.create_index("ix_task_events_task_id", "task_events", ["task_id"])

    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.String(128), nullable=False),
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(128), nullable=False),
        sa.Column("item_code", sa.String(64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("region_code", sa.String(12)),
        sa.Column("uscc", sa.String(18)),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("first_seen", _TS, nullable=False),
        sa.Column("last_seen", _TS, nullable=False),
        sa.Column("shadow", sa.Boolean(), nullable=False),
        sa.Column("correlation_id", sa.String(128), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("alert_id", name="pk_alerts"),
    )
    for column in ("fingerprint", "state", "level", "region_code", "last_seen"):
        op.create_index(f"ix_alerts_{column}", "alerts", [column])

    op.create_table(
        "supervision_events",
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("task_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("department", sa.String(128), nullable=False),
        sa.Column("deadline", _TS, nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("correlation_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_supervision_events"),
    )
    op.create_index("ix_supervision_events_task_id", "supervision_events", ["task_id"])

    op.create_table(
        "model_snapshots",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("offsets", sa.JSON(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_model_snapshots"),
    )
    op.create_index("ix_model_snapshots_name", "model_snapshots", ["name"])


def downgrade() -> None:
    """Drop every table of the first release, dependents first."""
    for table in ("model_snapshots", "supervision_events", "alerts", "task_events", "tasks"):
        op.drop_table(table)
