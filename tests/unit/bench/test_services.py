"""The service check before a run: which services a run needs, one line when any is down, and
the dev stack started only when asked and only for its own services. No network here."""

from __future__ import annotations

import doctest

import pytest

import bench.services
from bench import services
from bench.services import Service, down_message, needed, require
from bench.stats import BenchError
from bench.suite import sql_target
from config.settings import Settings


def _settings(**kw: object) -> Settings:
    base: dict[str, object] = {
        "kafka_broker": "kafka://127.0.0.1:9092",
        "redis_url": "redis://127.0.0.1:6379/0",
    }
    return Settings(_env_file=None, **{**base, **kw})  # type: ignore[call-arg]


def test_sqlite_runs_need_kafka_and_redis_postgres_runs_need_postgres_too() -> None:
    s = _settings()
    assert [x.name for x in needed(s, "sqlite:////tmp/x.db")] == ["kafka", "redis"]
    pg = needed(s, "postgresql+psycopg://riskloop@127.0.0.1:5432/riskloop")
    assert [(x.name, x.where, x.local) for x in pg][-1] == (
        "postgres",
        "127.0.0.1:5432/riskloop",
        True,
    )


def test_only_the_dev_stacks_own_ports_count_as_local() -> None:
    s = _settings(kafka_broker="kafka://10.0.0.5:9092", redis_url="redis://127.0.0.1:6380/2")
    kafka, redis = needed(s, "sqlite:///x")
    assert not kafka.local
    assert not redis.local
    assert redis.where == "127.0.0.1:6380/2"


def test_the_sql_target_follows_the_settings_unless_told() -> None:
    assert sql_target(_settings(), None) == "sqlite"
    assert sql_target(_settings(), "postgres").endswith("@127.0.0.1:5432/riskloop")
    pg = "postgresql+psycopg://me@db.example:5432/risk"
    assert sql_target(_settings(sql_url=pg), None) == pg
    assert sql_target(_settings(sql_url=pg), "sqlite") == "sqlite"


def test_a_down_service_stops_the_run_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        services, "probe", lambda s, url, svc: "refused" if svc.name == "redis" else None
    )
    started: list[list[str]] = []
    with pytest.raises(BenchError) as info:
        require(
            _settings(),
            "sqlite:///x",
            say=lambda m: None,
            up=lambda dev, names: started.append(names) or [],
        )
    message = str(info.value)
    assert "\n" not in message
    assert "cannot reach Redis at 127.0.0.1:6379/0 (refused)" in message
    assert "riskloop dev up redis" in message
    assert "--start-services" in message
    assert started == []  # never started without being asked


def test_start_services_starts_the_down_ones_and_probes_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    up_now: set[str] = {"kafka"}
    monkeypatch.setattr(
        services, "probe", lambda s, url, svc: None if svc.name in up_now else "refused"
    )

    def up(dev: object, names: list[str]) -> list[str]:
        up_now.update(names)
        return [f"{n} started" for n in names]

    said: list[str] = []
    got = require(
        _settings(),
        "postgresql+psycopg://riskloop@127.0.0.1:5432/riskloop",
        start=True,
        say=said.append,
        up=up,
    )
    assert [s.name for s in got] == ["kafka", "redis", "postgres"]
    assert "redis started" in said
    assert "postgres started" in said


def test_a_remote_service_is_never_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "probe", lambda s, url, svc: "timed out")
    with pytest.raises(BenchError, match="point RISKLOOP_KAFKA_BROKER at a running one"):
        require(
            _settings(kafka_broker="kafka://10.0.0.5:9092"),
            "sqlite:///x",
            start=True,
            say=lambda m: None,
            up=lambda dev, names: pytest.fail("started"),
        )


def test_down_message_names_every_service() -> None:
    msg = down_message([(Service("postgres", "127.0.0.1:5432/x", True), "no such database")])
    assert msg.startswith("cannot reach PostgreSQL at 127.0.0.1:5432/x (no such database)")


def test_services_doctests() -> None:
    assert doctest.testmod(bench.services).failed == 0


def test_the_redis_probe_sends_the_password_the_worker_would(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The dev stack's Redis requires a password: a probe without it read "down" (CI saw it)."""
    import redis
    from pydantic import SecretStr

    from bench import services
    from config.settings import Settings

    sent: dict[str, object] = {}

    class Client:
        def ping(self) -> bool:
            return True

        def close(self) -> None:
            return None

    def from_url(url: str, **kw: object) -> Client:
        sent.update(kw)
        return Client()

    monkeypatch.setattr(redis.Redis, "from_url", staticmethod(from_url))
    s = Settings(_env_file=None, redis_password=SecretStr("s3cret"))  # type: ignore[call-arg]
    services._probe_redis(s)
    assert sent["password"] == "s3cret"
