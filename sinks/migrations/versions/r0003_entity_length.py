"""Entities as long as the data standard allows: a complaint without a USCC takes its address
(up to 512 characters) as the warning's entity; at 128 its alert and task rows were set aside
in ``rejected_records`` and the task was missing from the task store.

Revision ID: 0003_entity_length
Revises: 0002_rejected_records
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_entity_length"
down_revision = "0002_rejected_records"
branch_labels = None
depends_on = None

ENTITY = 512


def upgrade() -> None:
    """Widen ``entity`` to 512 characters on tasks and alerts, so an address as entity
    fits.
    """
    for table in ("tasks", "alerts"):
        with op.batch_alter_table(table) as batch:  # SQLite rebuilds the table; PostgreSQL alters
            batch.alter_column(
                "entity",
                type_=sa.String(ENTITY),
                existing_type=sa.String(128),
                existing_nullable=False,
            )


def downgrade() -> None:
    """Back to 128 characters: PostgreSQL refuses it while a longer entity is stored,
    rather than cut one short.
    """
    for table in ("tasks", "alerts"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "entity",
                type_=sa.String(128),
                existing_type=sa.String(ENTITY),
                existing_nullable=False,
            )
