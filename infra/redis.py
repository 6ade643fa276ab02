"""A local Redis server from Debian's package, on loopback, with its own data folder."""

from __future__ import annotations

from pathlib import Path

from config.settings import DevStackSettings
from infra.packages import ensure_binary
from infra.process import (
    ProcessSpec,
    ensure_port_free,
    is_alive,
    is_ours,
    read_pid,
    spawn,
    terminate,
    wait_until,
)


def home(dev: DevStackSettings) -> Path:
    return dev.state_dir / "redis"


def pid_file(dev: DevStackSettings) -> Path:
    return home(dev) / "redis.pid"


def log_file(dev: DevStackSettings) -> Path:
    return home(dev) / "redis.log"


def marker(dev: DevStackSettings) -> str:
    # redis-server rewrites its title to "redis-server 127.0.0.1:<port>"
    return f"127.0.0.1:{dev.redis_port}"


def probe(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=port, socket_timeout=1).ping())
    except Exception:
        return False


def running(dev: DevStackSettings) -> int | None:
    pid = read_pid(pid_file(dev))
    return pid if is_ours(pid, marker(dev)) else None


def start(dev: DevStackSettings) -> str:
    if running(dev):
        wait_until(
            lambda: probe(dev.redis_port),
            timeout=dev.start_timeout,
            what="Redis",
            log_file=log_file(dev),
        )
        return f"redis already running on 127.0.0.1:{dev.redis_port}"
    binary = ensure_binary("redis-server", "redis-server")
    ensure_port_free(dev.redis_port, "Redis")
    home(dev).mkdir(parents=True, exist_ok=True)
    argv = [
        binary, "--bind", "127.0.0.1", "--port", str(dev.redis_port), "--dir", str(home(dev)),
        "--daemonize", "no", "--appendonly", "yes", "--save", "60 1", "--protected-mode", "yes",
    ]  # fmt: skip
    pid = spawn(ProcessSpec("redis", argv, pid_file(dev), log_file(dev), "redis-server"))
    wait_until(
        lambda: probe(dev.redis_port),
        timeout=dev.start_timeout,
        what="Redis",
        alive=lambda: is_alive(pid),
        log_file=log_file(dev),
    )
    return f"redis started on 127.0.0.1:{dev.redis_port} (pid {pid})"


def stop(dev: DevStackSettings) -> str:
    pid = read_pid(pid_file(dev))
    if pid and terminate(pid, marker(dev)):
        pid_file(dev).unlink(missing_ok=True)
        return f"redis stopped (pid {pid})"
    pid_file(dev).unlink(missing_ok=True)
    return "redis was not running"


def status(dev: DevStackSettings) -> tuple[bool, str]:
    pid = running(dev)
    if not pid:
        return False, "not running"
    ok = probe(dev.redis_port)
    return ok, f"pid {pid}, 127.0.0.1:{dev.redis_port}, {'healthy' if ok else 'not answering'}"
