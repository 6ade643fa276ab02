"""Notifications (issue #19): the queue, one row per (warning or task, receiver, step), and the
audit trail of every attempt to send one.

Revision ID: 0004_notifications
Revises: 0003_entity_length
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_notifications"
down_revision = "0003_entity_length"
branch_labels = None
depends_on = None

_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the notification queue (one row per warning or task, receiver and step, unique
    on the three so a step is sent once) and its audit trail of attempts.
    """
    op.create_table(
        "notifications",
        sa.Column("intent_id", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(128), nullable=False),
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
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("sent_at", _TS),
        sa.Column("last_error", sa.Text()),
        sa.Column("lease_owner", sa.String(256)),
        sa.Column("lease_until", _TS),
        sa.PrimaryKeyConstraint("intent_id", name="pk_notifications"),
        sa.UniqueConstraint("subject_id", "receiver", "step", name="uq_notifications_once"),
    )
    op.create_index("ix_notifications_subject_id", "notifications", ["subject_id"])
    op.create_index("ix_notifications_status", "notifications", ["status"])
    op.create_table(
        "notification_attempts",
        sa.Column("seq", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("intent_id", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(128), nullable=False),
        sa.Column("receiver", sa.String(64), nullable=False),
        sa.Column("step", sa.String(128), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_notification_attempts"),
    )
    for column in ("intent_id", "subject_id"):
        op.create_index(f"ix_notification_attempts_{column}", "notification_attempts", [column])


def downgrade() -> None:
    """Drop the audit trail of attempts, then the queue."""
    op.drop_table("notification_attempts")
    op.drop_table("notifications")
