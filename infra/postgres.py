"""A local PostgreSQL server from Debian's package, in its own data folder, on loopback.

We run ``postgres`` directly on a data folder we ``initdb`` ourselves (not Debian's cluster
tooling), so it never touches a system cluster and ``dev down`` stops exactly this server.
PostgreSQL refuses to run as root; as root we run it as the ``postgres`` system user that the
Debian package creates.

It listens on 127.0.0.1 only and TCP logins need a password (``scram-sha-256``): a random one
generated at the first start and kept in ``<state_dir>/secrets/postgres.password``
(:mod:`infra.secrets`). ``start`` writes ``pg_hba.conf`` and sets the role's password each time
(so a data folder made before passwords gets one), through the server's Unix socket, which lives
in the 0700 data folder and is the only way in without the password.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import subprocess
from glob import glob
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.errors import InfraError
from infra.packages import ensure_binary
from infra.process import ServiceProcess, ensure_port_free, is_ours
from infra.secrets import ensure_secret

if TYPE_CHECKING:
    from config.settings import DevStackSettings

_SERVICE_USER = "postgres"

PG_HBA = """\
# written by `riskloop dev up` at every start
# the Unix socket is in the data folder (0700): only its owner (and root) can reach it
local all all trust
# TCP on loopback only, with the generated password (<state_dir>/secrets/postgres.password)
host all all 127.0.0.1/32 scram-sha-256
"""


def _home(dev: DevStackSettings) -> Path:
    return dev.state_dir / "postgres"


def data_dir(dev: DevStackSettings) -> Path:
    """Normally ``<state_dir>/postgres/data``. As root, PostgreSQL runs as ``postgres``, which
    must be able to reach the folder: if a parent of the state folder is private (a checkout in
    a 0700 home or temp folder), the data goes to a folder of ours under /var/tmp instead."""
    preferred = _home(dev) / "data"
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
    """Where the server's pid is kept: ``dev down`` stops only a process this names
    and whose command line names our data folder.
    """
    return _home(dev) / "postgres.pid"


def _process(dev: DevStackSettings) -> ServiceProcess:
    log_file = _home(dev) / "postgres.log"
    return ServiceProcess("postgres", "PostgreSQL", pid_file(dev), log_file, str(data_dir(dev)))


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
    _home(dev).mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    data.parent.chmod(0o755)
    data.chmod(0o700)
    _chown(data, user)
    cmd = [
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        dev.postgres_user,
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
    ]
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


def password(dev: DevStackSettings) -> str | None:
    """The generated password (None: a server started before passwords, still on trust)."""
    secret = dev.secret("postgres")
    return secret.get_secret_value() if secret else None


def connect(dev: DevStackSettings, dbname: str = "postgres", *, socket: bool = False) -> Any:
    """A psycopg connection (autocommit) as the dev role: over TCP with the generated password,
    or through the Unix socket in the data folder (how ``start`` sets that password)."""
    import psycopg

    host = str(data_dir(dev)) if socket else "127.0.0.1"
    return psycopg.connect(
        host=host,
        port=dev.postgres_port,
        user=dev.postgres_user,
        dbname=dbname,
        password=None if socket else password(dev),
        connect_timeout=2,
        autocommit=True,
    )


def url(dev: DevStackSettings, dbname: str | None = None) -> Any:
    """SQLAlchemy URL of a database on the dev server, with the password: for tests and tools
    that connect directly (a worker's ``Settings`` adds it itself, see ``Settings.sql_secret``)."""
    import sqlalchemy as sa

    base = sa.make_url(dev.postgres_url).set(password=password(dev))
    return base.set(database=dbname) if dbname else base


def _probe(dev: DevStackSettings, dbname: str = "postgres", *, socket: bool = False) -> bool:
    try:
        with connect(dev, dbname, socket=socket) as conn:
            conn.execute("SELECT 1")
    except Exception:
        return False
    return True


def _write_hba(dev: DevStackSettings, user: str | None) -> None:
    path = data_dir(dev) / "pg_hba.conf"
    path.write_text(PG_HBA)
    path.chmod(0o600)
    _chown(path, user)


def _set_password(dev: DevStackSettings) -> None:
    """Give the role the generated password. Only its SCRAM verifier travels in the statement
    (computed here by libpq), so not even the server's log could show the password."""
    from psycopg import sql

    secret = ensure_secret(dev, "postgres")
    with connect(dev, socket=True) as conn:
        verifier = conn.pgconn.encrypt_password(
            secret.encode(), dev.postgres_user.encode(), b"scram-sha-256"
        )
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(dev.postgres_user), sql.Literal(verifier.decode())
            )
        )


def _ensure_database(dev: DevStackSettings) -> None:
    with connect(dev, "postgres") as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (dev.postgres_db,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{dev.postgres_db}"')


def command(dev: DevStackSettings, bindir: Path) -> list[str]:
    """``postgres`` listening on 127.0.0.1 only, its socket in the (0700) data folder."""
    return [
        str(bindir / "postgres"),
        "-D",
        str(data_dir(dev)),
        "-h",
        "127.0.0.1",
        "-p",
        str(dev.postgres_port),
        "-k",
        str(data_dir(dev)),
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
    ]


def running(dev: DevStackSettings) -> int | None:
    """Our server's pid if it is running: the pid file's process, and only while its command
    line still names our data folder (a reused pid is someone else's)."""
    return _process(dev).running()


def start(dev: DevStackSettings) -> str:
    """Start our PostgreSQL on 127.0.0.1 unless it runs, give the role its generated
    password and create the project's database; returns one status line. A server that already
    runs still gets its database, so a new ``postgres_db`` setting needs no restart.
    """
    process = _process(dev)
    if process.running():
        process.wait_ready(lambda: _probe(dev), timeout=dev.start_timeout)
        _ensure_database(dev)
        return f"postgres already running on 127.0.0.1:{dev.postgres_port}"
    bindir = _bin_dir()
    user = _run_as()
    ensure_port_free(dev.postgres_port, "PostgreSQL")
    _initdb(dev, bindir, user)
    _write_hba(dev, user)
    (data_dir(dev) / "postmaster.pid").unlink(missing_ok=True)  # stale after a crash
    argv = command(dev, bindir)
    pid = process.spawn(argv, user=user)
    process.wait_ready(lambda: _probe(dev, socket=True), timeout=dev.start_timeout, pid=pid)
    _set_password(dev)
    _ensure_database(dev)
    return f"postgres started on 127.0.0.1:{dev.postgres_port} (pid {pid})"


def stop(dev: DevStackSettings) -> str:
    """Stop our server with PostgreSQL's "fast" shutdown, then SIGQUIT after 30 s:
    SIGTERM waits for every client to leave, and one leaked pool would hold ``dev down`` forever.
    """
    import signal
    import time

    process = _process(dev)
    pid = process.running()
    if not pid:
        pid_file(dev).unlink(missing_ok=True)
        return "postgres was not running"
    os.kill(pid, signal.SIGINT)  # "fast" shutdown: SIGTERM would wait for every client
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and is_ours(pid, process.marker):
        time.sleep(0.2)
    if is_ours(pid, process.marker):
        os.kill(pid, signal.SIGQUIT)
        time.sleep(1)
    pid_file(dev).unlink(missing_ok=True)
    return f"postgres stopped (pid {pid})"


def status(dev: DevStackSettings) -> tuple[bool, str]:
    """(healthy, one line) for ``riskloop dev status``: healthy means the project's
    database answers over TCP with the generated password, the way the workers connect.
    """
    address = f"127.0.0.1:{dev.postgres_port}"
    return _process(dev).status(lambda: _probe(dev, dev.postgres_db), address)
