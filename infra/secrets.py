"""Generated passwords of the local stack: made once per state folder, kept in 0600 files.

There is no default password anywhere: ``riskloop dev up`` makes a random one for each service
the first time it starts it (``<state_dir>/secrets/<service>.password``, folder 0700), and
reads it back on every later start, so a restart keeps the data reachable. Settings read the
same file (:meth:`config.settings.DevStackSettings.secret`), so a ``riskloop`` command, the
demo and the integration tests find the password without anyone typing it.

For ``docker compose`` the same job is done by :func:`ensure_env_file`: it fills a ``.env``
(0600, git-ignored) with the variables compose requires.
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from config.settings import DevService, DevStackSettings

COMPOSE_SECRETS = (
    "RISKLOOP_PG_PASSWORD",
    "RISKLOOP_REDIS_REQUIREPASS",
    "RISKLOOP_DLQ_KEY",
    "GRAFANA_ADMIN_PASSWORD",
)
"""The variables docker-compose.yml requires (``${NAME:?…}``): none is a ``RISKLOOP_`` setting, so
a ``.env`` holding them changes nothing for a ``riskloop`` run on the host (tests hold it so)."""

PASSWORD_BYTES = 24
"""Random bytes per password (32 URL-safe characters): no quoting needed in URLs or configs."""


def new_password() -> str:
    """A fresh random password, safe in a URL, a shell word and a config line.

    >>> len(new_password()), new_password() != new_password()
    (32, True)
    """
    return secrets.token_urlsafe(PASSWORD_BYTES)


def ensure_secret(dev: DevStackSettings, service: DevService) -> str:
    """The password of ``service``, created (0600, in a 0700 folder) if there is none yet."""
    path = dev.secret_file(service)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        existing = dev.secret(service)
        if existing is not None:
            return existing.get_secret_value()
        path.unlink()  # empty (a crash while writing): make a new one
        return ensure_secret(dev, service)
    password = new_password()
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    return password


def write_private(path: Path, data: str | bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data``, readable only by its owner (or ``mode``): created with
    that mode, so it is never readable by others even for a moment, and reset to it if the file
    was there before with another.

    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "x.conf"
    ...     p.write_text("old"); p.chmod(0o644)
    ...     write_private(p, "requirepass s3cret\\n")
    ...     oct(p.stat().st_mode & 0o777), p.read_text()
    3
    ('0o600', 'requirepass s3cret\\n')
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(fd, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data.encode() if isinstance(data, str) else data)


def ensure_env_file(path: Path, names: Iterable[str]) -> list[str]:
    """Add a random value for each of ``names`` missing from the dotenv file ``path``.

    Existing values are kept (a database initialised with one must keep it). The file is
    created with mode 0600 and left at 0600. Returns the names that were added.
    """
    present = _dotenv_names(path)
    missing = [name for name in names if name not in present]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "a") as out:
        if missing and path.stat().st_size and not path.read_bytes().endswith(b"\n"):
            out.write("\n")
        for name in missing:
            out.write(f"{name}={new_password()}\n")
    return missing


def _dotenv_names(path: Path) -> set[str]:
    if not path.exists():
        return set()
    names = set()
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip().removeprefix("export ")
        if line and not line.startswith("#") and "=" in line:
            names.add(line.split("=", 1)[0].strip())
    return names
