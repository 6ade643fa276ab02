"""`riskloop dev up|status|down` on a private state folder and private ports: the real
services start, answer, survive `up` twice, recover after a crash, and `down` leaves no process
of ours running. Redis and PostgreSQL let no one in without the password `up` generated (which
settings find by themselves). Bad invocations print one line and exit non-zero."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
import redis as redis_client

from config.settings import DevStackSettings, Settings
from infra import kafka, postgres, redis
from infra.ports import free_port
from infra.process import cmdline, is_ours, read_pid
from sinks.sql import make_engine, sql_url
from tests.integration.conftest import ROOT


def riskloop(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams", *args],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_up_status_down_crash_recovery(tmp_path: Path) -> None:
    shared = Settings(_env_file=None).dev  # type: ignore[call-arg]
    # not under pytest's tmp_path: that is private to root, and PostgreSQL runs as `postgres`
    state = Path(tempfile.mkdtemp(prefix="riskloop-devstack-"))
    state.chmod(0o755)
    jars = kafka.jars_dir(shared)
    if jars.exists():  # reuse the cached Maven download; a fresh folder would fetch it again
        (state / jars.name).symlink_to(jars)
    ports = {
        "KAFKA_PORT": free_port(),
        "KAFKA_CONTROLLER_PORT": free_port(),
        "REDIS_PORT": free_port(),
        "POSTGRES_PORT": free_port(),
    }
    env = {**os.environ, "RISKLOOP_DEV__STATE_DIR": str(state)}
    env.update({f"RISKLOOP_DEV__{k}": str(v) for k, v in ports.items()})
    dev = Settings(
        _env_file=None, dev={"state_dir": state, **{k.lower(): v for k, v in ports.items()}}
    ).dev  # type: ignore[call-arg, arg-type]
    try:
        up = riskloop("dev", "up", env=env)
        assert up.returncode == 0, up.stderr
        status = riskloop("dev", "status", env=env)
        assert status.returncode == 0, status.stdout
        assert [line.split()[:2] for line in status.stdout.splitlines()] == [
            ["kafka", "healthy"],
            ["redis", "healthy"],
            ["postgres", "healthy"],
        ]
        pids = {m.__name__: read_pid(m.pid_file(dev)) for m in (kafka, redis, postgres)}
        secrets_are_required(dev, state)
        again = riskloop("dev", "up", env=env)
        assert again.returncode == 0
        assert "already running" in again.stdout
        assert {m.__name__: read_pid(m.pid_file(dev)) for m in (kafka, redis, postgres)} == pids

        os.kill(pids["infra.redis"], signal.SIGKILL)  # a crash
        time.sleep(0.5)
        assert riskloop("dev", "status", env=env).returncode == 1
        recovered = riskloop("dev", "up", "redis", env=env)
        assert recovered.returncode == 0
        assert "redis started" in recovered.stdout
        assert redis.probe(dev.redis_port, redis.password(dev))
        assert not redis.probe(dev.redis_port)  # restarted with the same password
    finally:
        down = riskloop("dev", "down", env=env)
    assert down.returncode == 0, down.stderr
    for module in (kafka, redis, postgres):
        assert not module.running(dev), f"{module.__name__} still running after down"
    shutil.rmtree(state, ignore_errors=True)
    for pid in pids.values():
        assert not is_ours(pid, str(state))
        assert not is_ours(pid, "redis-server " + f"127.0.0.1:{ports['REDIS_PORT']}")


def secrets_are_required(dev: DevStackSettings, state: Path) -> None:
    """No service lets anyone in without the generated password; the settings of a
    ``riskloop`` run find it, and no command line shows it."""
    for service in ("redis", "postgres"):
        path = dev.secret_file(service)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, service
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    redis_pw, pg_pw = redis.password(dev), postgres.password(dev)
    assert redis_pw
    assert pg_pw
    assert redis_pw != pg_pw
    assert not redis.probe(dev.redis_port)
    assert not redis.probe(dev.redis_port, "wrong")
    with pytest.raises(redis_client.AuthenticationError):
        redis_client.Redis(port=dev.redis_port, socket_timeout=2).set("k", "v")
    for password in (None, "wrong"):
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(
                host="127.0.0.1",
                port=dev.postgres_port,
                user=dev.postgres_user,
                dbname=dev.postgres_db,
                password=password,
                connect_timeout=5,
            )
    s = Settings(
        _env_file=None,
        dev=dev,
        redis_url=f"redis://127.0.0.1:{dev.redis_port}/0",
        sql_url=dev.postgres_url,
    )  # type: ignore[call-arg]
    assert s.redis_secret is not None
    assert s.sql_secret is not None
    with make_engine(sql_url(s)).connect() as conn:
        assert conn.exec_driver_sql("SELECT current_user").scalar_one() == dev.postgres_user
    password = s.redis_secret.get_secret_value()
    assert redis_client.Redis(port=dev.redis_port, password=password).ping()
    for pid in (read_pid(redis.pid_file(dev)), read_pid(postgres.pid_file(dev))):
        assert pid is not None
        assert redis_pw not in cmdline(pid)
        assert pg_pw not in cmdline(pid)
    for path in state.rglob("*.log"):
        text = path.read_text(errors="replace")
        assert redis_pw not in text, path
        assert pg_pw not in text, path


def test_port_taken_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        env = {
            **os.environ,
            "RISKLOOP_DEV__STATE_DIR": str(tmp_path),
            "RISKLOOP_DEV__REDIS_PORT": str(port),
        }
        result = riskloop("dev", "up", "redis", env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"port {port}" in lines[0]
    assert "Traceback" not in result.stderr


def test_broker_unreachable_is_one_clear_line() -> None:
    env = {**os.environ, "RISKLOOP_KAFKA_BROKER": f"kafka://127.0.0.1:{free_port()}"}
    for args in (("topics", "create"), ("worker", "--web-port", str(free_port()))):
        result = riskloop(*args, env=env)
        assert result.returncode == 1, result
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "cannot reach the Kafka broker" in lines[0], result.stderr
