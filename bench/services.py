"""Before measuring: every service the pipeline writes to is up, or the run stops here.

A worker started against a down Redis does not fail: its sink keeps the batch and retries with
backoff, and the benchmark would time the retries. So the bench probes each service the run's
settings name — the Kafka broker, Redis (live views) and, when the SQL store is PostgreSQL, that
server — once, without retrying, and either stops with one line naming what is down and how to
start it, or (``--start-services``) starts the dev stack's own services through ``infra.stack``
and probes again.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bench.stats import BenchError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from sqlalchemy import URL

    from config.settings import DevStackSettings, Settings

_LOCAL = {"127.0.0.1", "localhost", ""}
_LABELS = {"kafka": "the Kafka broker", "redis": "Redis", "postgres": "PostgreSQL"}


@dataclass(frozen=True)
class Service:
    """One service the run writes to: where (no secrets), and whether it is the dev stack's."""

    name: str
    where: str
    local: bool
    """127.0.0.1 on the dev stack's port: ``riskloop dev up NAME`` (or --start-services) starts it."""


def is_postgres(sql_url: str) -> bool:
    """
    >>> is_postgres("postgresql+psycopg://u@h/db"), is_postgres("sqlite:///x.db")
    (True, False)
    """
    return sql_url.startswith("postgres")


def needed(settings: Settings, sql_url: str) -> list[Service]:
    """The services a pipeline run with ``settings`` and ``sql_url`` writes to, in start order.

    >>> from config.settings import Settings
    >>> s = Settings(_env_file=None)
    >>> [(x.name, x.where, x.local) for x in needed(s, "sqlite:////tmp/x.db")]
    [('kafka', '127.0.0.1:9092', True), ('redis', '127.0.0.1:6379/0', True)]
    """
    dev = settings.dev
    first = settings.bootstrap_servers.split(",")[0]
    host, _, port = first.rpartition(":")
    out = [Service("kafka", settings.bootstrap_servers, _local(host, port, dev.kafka_port))]
    r = urlsplit(settings.redis_url)
    where = f"{r.hostname or '127.0.0.1'}:{r.port or 6379}{r.path or ''}"
    out.append(Service("redis", where, _local(r.hostname, r.port or 6379, dev.redis_port)))
    if is_postgres(sql_url):
        p = urlsplit(sql_url)
        where = f"{p.hostname or '127.0.0.1'}:{p.port or 5432}{p.path or ''}"
        out.append(
            Service("postgres", where, _local(p.hostname, p.port or 5432, dev.postgres_port))
        )
    return out


def _local(host: str | None, port: object, dev_port: int) -> bool:
    return (host or "") in _LOCAL and str(port) == str(dev_port)


def probe(settings: Settings, sql_url: str, service: Service) -> str | None:
    """None when ``service`` answers, else why not (one short clause). No retry."""
    try:
        if service.name == "kafka":
            _probe_kafka(settings)
        elif service.name == "redis":
            _probe_redis(settings)
        else:
            _probe_sql(settings, sql_url)
    except Exception as exc:  # any failure to answer is "down"; the reason is reported
        text = str(exc).strip().splitlines()
        return (text[0] if text else type(exc).__name__)[:160]
    return None


def down_message(down: Sequence[tuple[Service, str]]) -> str:
    """One line: what is down, why, and how to start it.

    >>> k = Service("kafka", "127.0.0.1:1", False)
    >>> r = Service("redis", "127.0.0.1:6379/0", True)
    >>> down_message([(k, "timed out"), (r, "refused")])  # doctest: +NORMALIZE_WHITESPACE
    'cannot reach the Kafka broker at 127.0.0.1:1 (timed out); cannot reach Redis at
    127.0.0.1:6379/0 (refused); the benchmark measures nothing against a service that is down:
    start it with `riskloop dev up redis` (or rerun with --start-services), point
    RISKLOOP_KAFKA_BROKER at a running one'
    """
    parts = [f"cannot reach {_LABELS[s.name]} at {s.where} ({why})" for s, why in down]
    local = [s.name for s, _ in down if s.local]
    remote = [s.name for s, _ in down if not s.local]
    hints = []
    if local:
        hints.append(
            f"start it with `riskloop dev up {' '.join(local)}` (or rerun with --start-services)"
        )
    env = {
        "kafka": "RISKLOOP_KAFKA_BROKER",
        "redis": "RISKLOOP_REDIS_URL",
        "postgres": "RISKLOOP_SQL_URL",
    }
    if remote:
        hints.append(f"point {', '.join(env[n] for n in remote)} at a running one")
    return (
        "; ".join(parts)
        + "; the benchmark measures nothing against a service that is down: "
        + ", ".join(hints)
    )


def require(
    settings: Settings,
    sql_url: str,
    *,
    start: bool = False,
    say: Callable[[str], None] = print,
    up: Callable[[DevStackSettings, list[str]], list[str]] | None = None,
) -> list[Service]:
    """Probe every service the run needs; start the dev stack's down ones if ``start``; raise
    :class:`BenchError` with one line if any is still down. Returns the services, all up."""
    services = needed(settings, sql_url)
    down = [(s, why) for s in services if (why := probe(settings, sql_url, s)) is not None]
    startable = [s.name for s, _ in down if s.local]
    if down and start and len(startable) == len(down):
        from infra import stack

        for line in (up or stack.up)(settings.dev, startable):
            say(line)
        down = [(s, why) for s, _ in down if (why := probe(settings, sql_url, s)) is not None]
    if down:
        raise BenchError(down_message(down))
    for s in services:
        say(f"{s.name} up at {s.where}")
    return services


def _probe_kafka(settings: Settings) -> None:
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    from infra.process import port_open

    host, _, port = settings.bootstrap_servers.split(",")[0].rpartition(":")
    if host in _LOCAL and port.isdigit() and not port_open(int(port)):
        raise RuntimeError("connection refused")  # no need to wait for a timeout on loopback

    client = AdminClient(
        {"bootstrap.servers": settings.bootstrap_servers, "log_level": 0, "socket.timeout.ms": 3000}
    )
    try:
        client.list_topics(timeout=5)
    except KafkaException as exc:
        raise RuntimeError(exc.args[0].str()) from exc


def _probe_redis(settings: Settings) -> None:
    import redis

    secret = settings.redis_secret  # set, or the one `riskloop dev up` generated
    password = secret.get_secret_value() if secret is not None else None
    client = redis.Redis.from_url(
        settings.redis_url, password=password or None, socket_connect_timeout=3, socket_timeout=3
    )
    try:
        client.ping()
    finally:
        client.close()


def _probe_sql(settings: Settings, sql_url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(
        _with_password(settings, sql_url), connect_args={"connect_timeout": 3}
    )
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    finally:
        engine.dispose()


def _with_password(settings: Settings, sql_url: str) -> URL:
    import sqlalchemy as sa

    url = sa.make_url(sql_url)
    secret = settings.sql_secret  # set, or the one `riskloop dev up` generated
    if secret is not None and secret.get_secret_value() and url.password is None:
        url = url.set(password=secret.get_secret_value())
    return url


@contextmanager
def fresh_database(settings: Settings, sql_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on ``sql_url``'s server for one trial (so repeated runs
    of the same input never meet each other's rows), dropped afterwards. Yields its URL."""
    import sqlalchemy as sa

    name = f"rl_bench_{uuid.uuid4().hex[:10]}"
    admin_url = _with_password(settings, sql_url).set(database="postgres")
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        except sa.exc.SQLAlchemyError as exc:
            where = admin_url.render_as_string(hide_password=True)
            first = (str(exc).strip().splitlines() or ["failed"])[0]
            raise BenchError(
                f"cannot create a database for the run on {where} ({first}); "
                "the role needs CREATEDB, or run with --sql sqlite"
            ) from exc
        yield sa.make_url(sql_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with suppress(Exception), engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
