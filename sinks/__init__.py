"""Where results go besides Kafka: the SQL task store and the Redis live views.

Every sink shares :class:`sinks.base.Sink` (start, add, flush, stop; batching, retries with
backoff, a durable outbox — never dropping a record). Modules, one concern each:

* ``sinks.base`` — the sink base and the order that makes delivery at-least-once
* ``sinks.outbox`` — the local SQLite journal a record reaches before it is acknowledged
* ``sinks.backoff`` — the retry schedule
* ``sinks.sql_tables`` / ``sinks.migrate`` / ``sinks.migrations`` — SQL schema and Alembic
* ``sinks.sql`` — :class:`~sinks.sql.SqlStore` (writes, queries) and :class:`~sinks.sql.SqlSink`
* ``sinks.redis_views`` — :class:`~sinks.redis_views.RedisViews`

Nothing is imported here, so ``import sinks.base`` does not pull in SQLAlchemy or Redis.
"""
