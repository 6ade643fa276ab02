"""Install a missing Debian package, or say exactly what to install.

The project's own scripts must bring what they need onto a fresh machine: if we are root and
apt-get exists we install; otherwise we stop with the exact command a person should run.
Package post-install scripts are kept from starting system services (a policy-rc.d that says
"no"), so Debian's own PostgreSQL or Redis never grabs the ports ours will use.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from infra.errors import InfraError

_POLICY = Path("/usr/sbin/policy-rc.d")
_updated = False


def ensure_binary(binary: str, package: str, *, candidates: tuple[str, ...] = ()) -> str:
    """Path of ``binary`` (on PATH or in ``candidates``), installing ``package`` if missing."""
    found = _find(binary, candidates)
    if found:
        return found
    install(package)
    found = _find(binary, candidates)
    if not found:
        raise InfraError(f"installed {package} but still cannot find {binary}")
    return found


def _find(binary: str, candidates: tuple[str, ...]) -> str | None:
    for path in candidates:
        if Path(path).is_file() and os.access(path, os.X_OK):
            return path
    return shutil.which(binary)


def install(package: str) -> None:
    """``apt-get install -y package`` with services kept from starting."""
    global _updated
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        raise InfraError(
            f"{package} is not installed; install it with `sudo apt-get install -y {package}` "
            "(RiskLoop installs it by itself only when run as root on a Debian-like system)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    created_policy = False
    if not _POLICY.exists():
        _POLICY.write_text("#!/bin/sh\nexit 101\n")
        _POLICY.chmod(0o755)
        created_policy = True
    try:
        if not _updated:
            _run([apt, "update", "-qq"], env, "apt-get update")
            _updated = True
        _run(
            [apt, "install", "-y", "-qq", "--no-install-recommends", package],
            env,
            f"installing {package}",
        )
    finally:
        if created_policy:
            _POLICY.unlink(missing_ok=True)


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        tail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
        raise InfraError(f"{what} failed (exit {proc.returncode}): {tail}")
