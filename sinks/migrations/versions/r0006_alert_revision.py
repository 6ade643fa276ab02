"""A revision on each warning row: the SQL store keeps the highest it was sent.

Why: as for tasks (r0005), ``alerts`` is upserted, last write wins, and a worker that loses a
partition while the database is away writes the copies it still holds once the database is
back, possibly after the partition's next owner has written a newer version of the same
warning (a higher level, its end). With the revision (``Alert.revision``, raised by every record
of the warning) an upsert replaces a row only with an equal or higher one (sinks/sql.py). Rows
written before this migration read 0: any version written after it replaces them.

Revision ID: 0006_alert_revision
Revises: 0005_task_revision
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_alert_revision"
down_revision = "0005_task_revision"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``alerts.revision`` (0 for the rows already there)."""
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("revision", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    """Drop ``alerts.revision``: upserts are last-write-wins again."""
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("revision")
