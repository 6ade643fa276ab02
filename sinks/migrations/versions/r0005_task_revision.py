"""A revision on each task row: the SQL store keeps the highest it was sent.

Why: ``tasks`` is upserted, last write wins. A worker that loses a partition while the database
is away keeps the copies it acknowledged in its local outbox and writes them when the database
is back; if the partition's next owner has written a newer version of the same task first, the
old copy would overwrite it. With the revision (``Task.revision``, raised by every event of the
task) an upsert replaces a row only with an equal or higher one (sinks/sql.py). Rows written
before this migration read 0: any version written after it replaces them.

Revision ID: 0005_task_revision
Revises: 0004_notifications
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_task_revision"
down_revision = "0004_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``tasks.revision`` (0 for the rows already there)."""
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("revision", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    """Drop ``tasks.revision``: upserts are last-write-wins again."""
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("revision")
