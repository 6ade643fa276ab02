"""Rejected records: rows the store refused for good, set aside instead of blocking their batch.

Revision ID: 0002_rejected_records
Revises: 0001_initial
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_rejected_records"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add ``rejected_records``, where a row the store refuses for good is set aside
    instead of blocking its whole batch.
    """
    op.create_table(
        "rejected_records",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("sink", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("record_key", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("rejected_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rejected_records"),
    )
    op.create_index("ix_rejected_records_rejected_at", "rejected_records", ["rejected_at"])


def downgrade() -> None:
    """Drop ``rejected_records``, and with it every row set aside there: read them
    first.
    """
    op.drop_table("rejected_records")
