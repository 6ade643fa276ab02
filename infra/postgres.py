"""A local PostgreSQL server from Debian's package, in its own data folder, on loopback.

We run ``postgres`` directly on a data folder we ``initdb`` ourselves (not Debian's cluster
tooling), so it never touches a system cluster and ``dev down`` stops exactly this server.
PostgreSQL refuses to run as root; as root we run it as the ``postgres`` system user that the
Debian package creates. Authentication is ``trust`` on 127.0.0.1 only: a development server.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import subprocess
from glob import glob
from pathlib import Path
from typing import Any

from config.settings import DevStackSettings
from infra.errors import InfraError
from infra.packages import ensure_binary
from infra.process import (
    ProcessSpec,
    ensure_port_free,
    is_alive,
    is_ours,
    read_pid,
    spawn,
    wait_until,
)

_SERVICE_USER = "postgres"


def home(dev: DevStackSettings) -> Path:
    return dev.state_dir / "postgres"


def data_dir(dev: DevStackSettings) -> Path:
    """Normally ``<state_dir>/postgres/data``. As root, PostgreSQL runs as ``postgres``, which
    must be able to reach the folder: if a parent of the state folder is private (a checkout in
    a 0700 home or temp folder), the data goes to a folder of ours under /var/tmp instead."""
    preferred = home(dev) / "data"
    if os.geteuid() != 0 or _reachable_by_others(preferred):
        return preferred
    digest = hashlib.sha256(str(dev.state_dir.resolve()).encode()).hexdigest()[:12]
    return Path("/var/tmp") / f"riskloop-postgres-{digest}" / "data"


def _reachable_by_others(path: Path) -> bool:
    for parent in path.resolve().parents:
        try:
            if not parent.stat().st_mode & 0o001:
                return False
        except FileNotFoundError:
            continue
    return True


def pid_file(dev: DevStackSettings) -> Path:
    return home(dev) / "postgres.pid"


def log_file(dev: DevStackSettings) -> Path:
    return home(dev) / "postgres.log"


def marker(dev: DevStackSettings) -> str:
    return str(data_dir(dev))


def _bin_dir() -> Path:
    """The newest PostgreSQL server's bin folder, installing the server if there is none."""

    def newest() -> Path | None:
        found = sorted(
            glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4])
        )
        return Path(found[-1]).parent if found else None

    found = newest()
    if found is None:
        ensure_binary("postgres", "postgresql", candidates=())
        found = newest()
    if found is None:
        raise InfraError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin")
    return found


def _run_as() -> str | None:
    """The user to run the server as: ``postgres`` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(_SERVICE_USER)
    except KeyError as exc:
        raise InfraError(
            "running as root, but there is no `postgres` system user to run PostgreSQL as; "
            "create it with `useradd --system postgres`"
        ) from exc
    return _SERVICE_USER


def _chown(path: Path, user: str | None) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def _initdb(dev: DevStackSettings, bindir: Path, user: str | None) -> None:
    data = data_dir(dev)
    if (data / "PG_VERSION").exists():
        return
    home(dev).mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    data.parent.chmod(0o755)
    data.chmod(0o700)
    _chown(data, user)
    cmd = [
        str(bindir / "initdb"), "-D", str(data), "-U", dev.postgres_user, "-A", "trust",
        "-E", "UTF8", "--locale=C.UTF-8",
    ]  # fmt: skip
    preexec = None
    if user:
        from infra.process import _demote

        preexec = _demote(user)
    proc = subprocess.run(
        cmd, capture_output=True, text=True, preexec_fn=preexec, check=False, cwd="/"
    )
    if proc.returncode != 0:
        hint = ""
        if "Permission denied" in proc.stderr and user:
            hint = f" (PostgreSQL runs as `{user}`: every folder above {data} must be traversable by it)"
        raise InfraError(f"initdb failed: {proc.stderr.strip()[-300:]}{hint}")


def _connect(dev: DevStackSettings, dbname: str) -> Any:
    import psycopg

    return psycopg.connect(
        host="127.0.0.1", port=dev.postgres_port, user=dev.postgres_user, dbname=dbname,
        connect_timeout=2, autocommit=True,
    )  # fmt: skip


def probe(dev: DevStackSettings, dbname: str = "postgres") -> bool:
    try:
        with _connect(dev, dbname) as conn:
            conn.execute("SELECT 1")
    except Exception:
        return False
    return True


def _ensure_database(dev: DevStackSettings) -> None:
    with _connect(dev, "postgres") as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (dev.postgres_db,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{dev.postgres_db}"')


def running(dev: DevStackSettings) -> int | None:
    pid = read_pid(pid_file(dev))
    return pid if is_ours(pid, marker(dev)) else None


def start(dev: DevStackSettings) -> str:
    if running(dev):
        wait_until(
            lambda: probe(dev), timeout=dev.start_timeout, what="PostgreSQL", log_file=log_file(dev)
        )
        _ensure_database(dev)
        return f"postgres already running on 127.0.0.1:{dev.postgres_port}"
    bindir = _bin_dir()
    user = _run_as()
    ensure_port_free(dev.postgres_port, "PostgreSQL")
    _initdb(dev, bindir, user)
    (data_dir(dev) / "postmaster.pid").unlink(missing_ok=True)  # stale after a crash
    argv = [
        str(bindir / "postgres"), "-D", str(data_dir(dev)), "-h", "127.0.0.1",
        "-p", str(dev.postgres_port), "-k", str(data_dir(dev)),
        "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
    ]  # fmt: skip
    pid = spawn(ProcessSpec("postgres", argv, pid_file(dev), log_file(dev), marker(dev), user=user))
    wait_until(
        lambda: probe(dev),
        timeout=dev.start_timeout,
        what="PostgreSQL",
        alive=lambda: is_alive(pid),
        log_file=log_file(dev),
    )
    _ensure_database(dev)
    return f"postgres started on 127.0.0.1:{dev.postgres_port} (pid {pid})"


def stop(dev: DevStackSettings) -> str:
    import signal
    import time

    pid = read_pid(pid_file(dev))
    if not pid or not is_ours(pid, marker(dev)):
        pid_file(dev).unlink(missing_ok=True)
        return "postgres was not running"
    os.kill(pid, signal.SIGINT)  # "fast" shutdown: SIGTERM would wait for every client
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and is_ours(pid, marker(dev)):
        time.sleep(0.2)
    if is_ours(pid, marker(dev)):
        os.kill(pid, signal.SIGQUIT)
        time.sleep(1)
    pid_file(dev).unlink(missing_ok=True)
    return f"postgres stopped (pid {pid})"


def status(dev: DevStackSettings) -> tuple[bool, str]:
    pid = running(dev)
    if not pid:
        return False, "not running"
    ok = probe(dev, dev.postgres_db)
    return ok, f"pid {pid}, 127.0.0.1:{dev.postgres_port}, {'healthy' if ok else 'not answering'}"
