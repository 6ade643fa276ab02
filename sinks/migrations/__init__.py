"""Alembic migrations of the SQL task store; run them with :func:`sinks.migrate.migrate`."""
