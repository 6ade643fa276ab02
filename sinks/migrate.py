"""Schema migrations of the SQL task store, run programmatically (``alembic upgrade head``).

Why programmatic: the worker, the CLI and the tests all need the same one call, on SQLite
and PostgreSQL alike, without an ``alembic.ini`` lying around. On PostgreSQL, workers that
start together serialise on an advisory lock, so two never race to create the same table.

>>> import tempfile, sqlalchemy as sa
>>> url = f"sqlite:///{tempfile.mkdtemp()}/demo.db"
>>> migrate(url)
'0006_alert_revision'
>>> sorted(sa.inspect(sa.create_engine(url)).get_table_names())[:3]
['alembic_version', 'alerts', 'model_snapshots']
"""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import URL, Engine

from sinks.errors import MigrationFailed

SCRIPT_LOCATION = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_KEY = 0x5249534B4C4F4F50 & 0x7FFFFFFFFFFFFFFF  # "RISKLOOP"
_IN_PROCESS = threading.Lock()
"""Alembic's command API keeps its running context in module globals (``alembic.context``,
``alembic.op``), so two threads of one process must not run it at once: a worker's API migrates
on its first read (in a thread) while the SQL sink migrates before its first write. Together
they failed with ``KeyError: 'script'`` and left a SQLite store half-made (``table tasks already
exists`` on every later write)."""


def alembic_config() -> Config:
    """An Alembic config pointing at ``sinks/migrations`` (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    return config


def migrate(target: str | URL | Engine, revision: str = "head") -> str | None:
    """Upgrade the store at ``target`` to ``revision``; the revision it is at afterwards."""
    from sinks.sql import make_engine

    engine = target if isinstance(target, Engine) else make_engine(target)
    config = alembic_config()
    try:
        with _IN_PROCESS, engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            return MigrationContext.configure(conn).get_current_revision()
    except sa.exc.SQLAlchemyError as exc:
        raise MigrationFailed(
            f"migrating the SQL store at {engine.url!r} to {revision} failed: {exc}"
        ) from exc
    finally:
        if engine is not target:
            engine.dispose()
