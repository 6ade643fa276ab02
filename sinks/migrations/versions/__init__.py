"""Alembic revisions (one file each; Alembic, not Python imports, orders them)."""
