"""Alembic environment: runs on the connection :func:`sinks.migrate.migrate` hands it.

Falls back to the ``sqlalchemy.url`` option, so ``alembic -x`` tooling works too. SQLite runs
in batch mode (it cannot ALTER most things in place), so later revisions stay portable.
"""

from __future__ import annotations

from alembic import context

from sinks.sql_tables import metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=getattr(connection, "dialect").name == "sqlite",  # noqa: B009
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from sinks.sql import make_engine

    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url set")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


_main()
