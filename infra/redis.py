"""A local Redis server from Debian's package, on loopback, with its own data folder.

It requires a password (``requirepass``): a random one generated at its first start and kept
in ``<state_dir>/secrets/redis.password`` (:mod:`infra.secrets`). The password goes into a
0600 config file, never onto the command line, where ``ps`` would show it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.packages import ensure_binary
from infra.process import ServiceProcess, ensure_port_free
from infra.secrets import ensure_secret, write_private

if TYPE_CHECKING:
    from pathlib import Path

    from config.settings import DevStackSettings


def _home(dev: DevStackSettings) -> Path:
    return dev.state_dir / "redis"


def pid_file(dev: DevStackSettings) -> Path:
    """Where the server's pid is kept: ``dev down`` stops only a process this names
    and whose title is our port.
    """
    return _home(dev) / "redis.pid"


def _config_file(dev: DevStackSettings) -> Path:
    return _home(dev) / "redis.conf"


def _process(dev: DevStackSettings) -> ServiceProcess:
    # redis-server rewrites its title to "redis-server 127.0.0.1:<port>": the port is our marker
    marker = f"127.0.0.1:{dev.redis_port}"
    return ServiceProcess("redis", "Redis", pid_file(dev), _home(dev) / "redis.log", marker)


def password(dev: DevStackSettings) -> str | None:
    """The generated password (None: a Redis started before passwords, still without one)."""
    secret = dev.secret("redis")
    return secret.get_secret_value() if secret else None


def probe(port: int, password: str | None = None) -> bool:
    """True if the Redis on ``port`` answers PING (authenticated with ``password``)."""
    import redis

    try:
        client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=1)
        return bool(client.ping())
    except Exception:
        return False


def write_config(dev: DevStackSettings) -> Path:
    """The 0600 config file holding what must not be on the command line: the password."""
    secret = ensure_secret(dev, "redis")
    _home(dev).mkdir(parents=True, exist_ok=True)
    path = _config_file(dev)
    write_private(
        path,
        f"# written by `riskloop dev up`; the password is in {dev.secret_file('redis')}\n"
        f"requirepass {secret}\n",
    )
    return path


def command(dev: DevStackSettings, binary: str, conf: Path) -> list[str]:
    """``redis-server`` on loopback only, its password in ``conf`` (see :func:`write_config`)."""
    return [
        binary,
        str(conf),
        "--bind",
        "127.0.0.1",
        "--port",
        str(dev.redis_port),
        "--dir",
        str(_home(dev)),
        "--daemonize",
        "no",
        "--appendonly",
        "yes",
        "--save",
        "60 1",
        "--protected-mode",
        "yes",
    ]


def running(dev: DevStackSettings) -> int | None:
    """Our server's pid if it is running: the pid file's process, and only while its title
    still names our port (a reused pid is someone else's)."""
    return _process(dev).running()


def start(dev: DevStackSettings) -> str:
    """Start our Redis on 127.0.0.1 with the generated password unless it runs, and wait
    until an authenticated PING answers; returns one status line.
    """
    if running(dev):
        _wait_ready(dev)
        return f"redis already running on 127.0.0.1:{dev.redis_port}"
    binary = ensure_binary("redis-server", "redis-server")
    ensure_port_free(dev.redis_port, "Redis")
    _home(dev).mkdir(parents=True, exist_ok=True)
    argv = command(dev, binary, write_config(dev))
    pid = _process(dev).spawn(argv)
    _wait_ready(dev, pid)
    return f"redis started on 127.0.0.1:{dev.redis_port} (pid {pid})"


def _wait_ready(dev: DevStackSettings, pid: int | None = None) -> None:
    """Until an authenticated PING answers; with ``pid``, a server that exits fails at once."""
    _process(dev).wait_ready(
        lambda: probe(dev.redis_port, password(dev)), timeout=dev.start_timeout, pid=pid
    )


def stop(dev: DevStackSettings) -> str:
    """Stop our Redis and drop its pid file; the append-only file keeps its data for the
    next start.
    """
    return _process(dev).stop()


def status(dev: DevStackSettings) -> tuple[bool, str]:
    """(healthy, one line) for ``riskloop dev status``: healthy means PING answers with
    the generated password, the way the workers connect.
    """
    address = f"127.0.0.1:{dev.redis_port}"
    return _process(dev).status(lambda: probe(dev.redis_port, password(dev)), address)
