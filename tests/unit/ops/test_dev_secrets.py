"""The dev stack has no default password and listens on loopback only; settings find the
generated passwords by themselves and never show a secret in a repr.

Pure: nothing is started here (tests/integration/test_dev_stack.py starts the real services and
checks that they refuse a login without the password).
"""

from __future__ import annotations

import doctest
import importlib
import stat
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr

from config.settings import DevStackSettings, Settings, redact_url
from infra import kafka, postgres, prometheus, redis
from infra.secrets import ensure_secret


@pytest.fixture
def dev(tmp_path: Path) -> DevStackSettings:
    return DevStackSettings(state_dir=tmp_path / "state", redis_port=16379, postgres_port=15432)


def settings(dev: DevStackSettings, **fields: object) -> Settings:
    """Settings whose Redis and SQL store are the dev stack's (unless ``fields`` say otherwise)."""
    defaults = {"redis_url": f"redis://127.0.0.1:{dev.redis_port}/0", "sql_url": dev.postgres_url}
    fields = {**defaults, **fields}
    return Settings(_env_file=None, dev=dev, **fields)  # type: ignore[call-arg, arg-type]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ------------------------------------------------------------------------ generated secrets


def test_a_secret_is_made_once_per_state_folder_0600(dev: DevStackSettings, tmp_path: Path) -> None:
    first = ensure_secret(dev, "redis")
    assert len(first) >= 32
    assert ensure_secret(dev, "redis") == first  # a restart keeps it: the data stays reachable
    assert mode(dev.secret_file("redis")) == 0o600
    assert mode(dev.secret_file("redis").parent) == 0o700
    assert ensure_secret(dev, "postgres") != first
    other = DevStackSettings(state_dir=tmp_path / "other")
    assert ensure_secret(other, "redis") != first


def test_an_empty_secret_file_is_replaced(dev: DevStackSettings) -> None:
    dev.secret_file("redis").parent.mkdir(parents=True)
    dev.secret_file("redis").write_text("")
    assert dev.secret("redis") is None
    assert len(ensure_secret(dev, "redis")) >= 32


def test_no_default_password_anywhere_in_the_settings() -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.sql_password is None
    assert s.redis_password is None
    assert "password" not in s.dev.model_dump()  # generated per state folder, not configured
    assert urlsplit(s.dev.postgres_url).password is None
    assert urlsplit(s.redis_url).password is None


# ------------------------------------------------------------------------ settings find them


def test_settings_find_the_dev_stacks_passwords(dev: DevStackSettings) -> None:
    s = settings(dev)
    assert s.redis_secret is None
    assert s.sql_secret is None
    redis_pw, pg_pw = ensure_secret(dev, "redis"), ensure_secret(dev, "postgres")
    assert s.redis_secret == SecretStr(redis_pw)
    assert s.sql_secret == SecretStr(pg_pw)


def test_sql_url_gets_the_generated_password(dev: DevStackSettings) -> None:
    from sinks.sql import sql_url

    pg_pw = ensure_secret(dev, "postgres")
    url = sql_url(settings(dev))
    assert url.password == pg_pw
    assert pg_pw not in str(url)
    assert pg_pw not in repr(url)


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("redis_url", "redis://cache.internal:16379/0"),  # another host
        ("redis_url", "redis://127.0.0.1:6380/0"),  # another port
        ("redis_url", "redis://:own@127.0.0.1:16379/0"),  # a password of its own
        ("sql_url", "postgresql+psycopg://other@127.0.0.1:15432/riskloop"),  # another role
        ("sql_url", "postgresql+psycopg://riskloop@db:15432/riskloop"),
        ("sql_url", "sqlite:///./riskloop.db"),
    ],
)
def test_only_the_dev_stacks_own_services_get_its_passwords(
    dev: DevStackSettings, field: str, url: str
) -> None:
    ensure_secret(dev, "redis")
    ensure_secret(dev, "postgres")
    s = settings(dev, **{field: url})
    secret = s.redis_secret if field == "redis_url" else s.sql_secret
    assert secret is None


def test_an_explicit_password_wins(dev: DevStackSettings) -> None:
    ensure_secret(dev, "redis")
    ensure_secret(dev, "postgres")
    s = settings(dev, redis_password=SecretStr("mine"), sql_password=SecretStr("ours"))
    assert s.redis_secret == SecretStr("mine")
    assert s.sql_secret == SecretStr("ours")


def test_the_dead_letter_key_is_the_setting_else_the_dev_stacks(dev: DevStackSettings) -> None:
    """``dev up`` makes the key (0600, like the passwords); a configured key wins over it."""
    assert settings(dev).deadletter_secret is None  # none yet: the worker warns, seals nothing
    key = ensure_secret(dev, "deadletter")
    assert mode(dev.secret_file("deadletter")) == 0o600
    assert settings(dev).deadletter_secret == SecretStr(key)
    mine = settings(dev, deadletter_key=SecretStr("operators"))
    assert mine.deadletter_secret == SecretStr("operators")
    assert "operators" not in repr(mine)


def test_copies_resolve_again(dev: DevStackSettings) -> None:
    """``with_overrides`` skips validation; the passwords are looked up when asked for."""
    pg_pw = ensure_secret(dev, "postgres")
    s = settings(dev, sql_url="sqlite:///x.db")
    assert s.sql_secret is None
    assert s.with_overrides(sql_url=dev.postgres_url).sql_secret == SecretStr(pg_pw)


# ------------------------------------------------------------------------ never logged


def test_a_settings_repr_shows_no_secret(dev: DevStackSettings) -> None:
    redis_pw = ensure_secret(dev, "redis")
    s = settings(
        dev,
        sql_password=SecretStr("sql-secret-1"),
        redis_url=f"redis://:url-secret-2@127.0.0.1:{dev.redis_port}/0",
        schema_registry_url="https://user:url-secret-3@registry:8081",
        snapshot_key=SecretStr("snapshot-secret-4"),
    )
    for text in (repr(s), str(s), f"{s}", repr(s.dev)):
        for secret in (
            "sql-secret-1",
            "url-secret-2",
            "url-secret-3",
            "snapshot-secret-4",
            redis_pw,
        ):
            assert secret not in text
    assert "redis://:***@127.0.0.1" in repr(s)


def test_redact_url_keeps_what_is_not_a_password() -> None:
    assert (
        redact_url("kafka://127.0.0.1:9092;kafka://b:9092")
        == "kafka://127.0.0.1:9092;kafka://b:9092"
    )
    assert redact_url("redis://u:p@h:1/0") == "redis://u:***@h:1/0"
    assert redact_url("no url at all") == "no url at all"


# ------------------------------------------------------------------------ loopback, files


def test_redis_gets_its_password_from_a_0600_file_not_argv(dev: DevStackSettings) -> None:
    conf = redis.write_config(dev)
    assert mode(conf) == 0o600
    password = dev.secret("redis")
    assert password is not None
    assert f"requirepass {password.get_secret_value()}" in conf.read_text()
    argv = redis.command(dev, "/usr/bin/redis-server", conf)
    assert password.get_secret_value() not in " ".join(argv)
    assert argv[argv.index("--bind") + 1] == "127.0.0.1"
    assert argv[argv.index("--protected-mode") + 1] == "yes"


def test_postgres_takes_tcp_logins_only_with_a_password_on_loopback(dev: DevStackSettings) -> None:
    rules = [line.split() for line in postgres.PG_HBA.splitlines() if line and line[0] != "#"]
    assert [r for r in rules if r[0] == "host"] == [
        ["host", "all", "all", "127.0.0.1/32", "scram-sha-256"]
    ]
    assert all(r[-1] != "trust" for r in rules if r[0] != "local")  # the socket is in a 0700 dir
    argv = postgres.command(dev, Path("/usr/lib/postgresql/15/bin"))
    assert argv[argv.index("-h") + 1] == "127.0.0.1"
    assert argv[argv.index("-k") + 1] == str(postgres.data_dir(dev))


def test_kafka_and_prometheus_listen_on_loopback_only(dev: DevStackSettings) -> None:
    props = dict(
        line.split("=", 1)
        for line in kafka.write_config(dev).read_text().splitlines()
        if "=" in line
    )
    for key in ("listeners", "advertised.listeners"):
        for listener in props[key].split(","):
            assert listener.split("://", 1)[1].startswith("127.0.0.1:"), listener
    assert props["controller.quorum.voters"].split("@", 1)[1].startswith("127.0.0.1:")
    argv = prometheus.command(dev, "/usr/bin/prometheus")
    assert f"--web.listen-address=127.0.0.1:{dev.prometheus_port}" in argv


@pytest.mark.parametrize("name", ["config.settings", "infra.secrets"])
def test_doctests(name: str) -> None:
    assert doctest.testmod(importlib.import_module(name)).failed == 0
