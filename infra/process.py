"""Start, find and stop a local service process by its pid file.

``riskloop dev down`` must stop only what ``dev up`` started: every service we start writes a
pid file in its own state folder, and we only ever signal a pid whose command line still
matches what we started (a recycled pid belongs to someone else).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from infra.errors import InfraError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


def read_pid(pid_file: Path) -> int | None:
    """The pid in ``pid_file``, or None if there is none or it is garbage."""
    try:
        first = pid_file.read_text().split()[0]
        return int(first)
    except (OSError, ValueError, IndexError):
        return None


def cmdline(pid: int) -> str:
    """The process's command line with NULs as spaces, '' if it is gone."""
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def is_ours(pid: int | None, marker: str) -> bool:
    """True if ``pid`` is alive, not a zombie, and its command line contains ``marker``."""
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":
        return False
    return marker in cmdline(pid)


def is_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie, whatever its command line says.

    The start-up check must not use the command-line marker: between fork and exec a fresh
    child still shows its parent's command line, and would be taken for dead.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True if something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def ensure_port_free(port: int, service: str) -> None:
    """Refuse to start ``service`` on a port someone else holds, with one clear line."""
    if port_open(port):
        raise InfraError(
            f"port {port} on 127.0.0.1 is already taken, so {service} cannot start there; "
            f"stop whatever holds it or choose another port in settings (RISKLOOP_DEV__...)"
        )


def _demote(user: str) -> Callable[[], None]:
    import pwd

    entry = pwd.getpwnam(user)

    def run() -> None:
        os.setgid(entry.pw_gid)
        os.initgroups(user, entry.pw_gid)
        os.setuid(entry.pw_uid)

    return run


def wait_until(
    ready: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    alive: Callable[[], bool] | None = None,
    log_file: Path | None = None,
) -> None:
    """Poll ``ready`` until it is true; fail with one clear line on timeout or early death."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if alive is not None and not alive():
            raise InfraError(f"{what} exited during start-up; see {log_file}" + _tail(log_file))
        time.sleep(0.25)
    raise InfraError(
        f"{what} was not ready after {timeout:.0f} s; see {log_file}" + _tail(log_file)
    )


def _tail(log_file: Path | None, lines: int = 5) -> str:
    if log_file is None or not log_file.exists():
        return ""
    text = log_file.read_text(errors="replace").strip().splitlines()[-lines:]
    return ("\n  last log lines:\n    " + "\n    ".join(text)) if text else ""


def terminate(pid: int, marker: str, *, timeout: float = 30.0) -> bool:
    """SIGTERM our process (its whole session), escalate to SIGKILL; True if it was running."""
    if not is_ours(pid, marker):
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    except PermissionError:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_ours(pid, marker):
            return True
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    time.sleep(0.5)
    return True


def stop_pid_file(pid_file: Path, marker: str, *, timeout: float = 30.0) -> int | None:
    """Stop the process a pid file names if it is still ours, and drop the file either way
    (a stale one would name someone else's pid after a reboot): the pid that stopped, or None.
    """
    pid = read_pid(pid_file)
    stopped = bool(pid and terminate(pid, marker, timeout=timeout))
    pid_file.unlink(missing_ok=True)
    return pid if stopped else None


def stop_line(name: str, pid: int | None) -> str:
    """What ``riskloop dev down`` prints for a service :func:`stop_pid_file` handled."""
    return f"{name} stopped (pid {pid})" if pid else f"{name} was not running"


@dataclass(frozen=True)
class ServiceProcess:
    """One dev service's process as its pid file names it: each service module (kafka, redis,
    postgres, prometheus, the secured broker) says where its files are and what marks its
    command line, and this runs the start-up, readiness, stop and status steps they share.
    """

    name: str  # in the lines ``riskloop dev`` prints: "redis"
    title: str  # in error lines: "Redis"
    pid_file: Path
    log_file: Path
    marker: str  # a string that must appear in /proc/<pid>/cmdline for the pid to be ours

    def running(self) -> int | None:
        """The pid file's pid while that process is ours (a reused pid is someone else's)."""
        pid = read_pid(self.pid_file)
        return pid if is_ours(pid, self.marker) else None

    def spawn(self, argv: Sequence[str], *, user: str | None = None) -> int:
        """Start ``argv`` detached (own session, output to the log), as ``user`` if given
        (PostgreSQL refuses to run as root); write and return its pid."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_demote(user) if user else None,  # noqa: PLW1509
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        return proc.pid

    def wait_ready(
        self, ready: Callable[[], bool], *, timeout: float, pid: int | None = None
    ) -> None:
        """Poll ``ready`` (see :func:`wait_until`); with ``pid``, the process we just spawned,
        one that exits fails at once instead of after ``timeout``."""
        wait_until(
            ready,
            timeout=timeout,
            what=self.title,
            alive=(lambda: is_alive(pid)) if pid else None,
            log_file=self.log_file,
        )

    def stop(self, *, timeout: float = 30.0) -> str:
        """Stop the process and drop its pid file (:func:`stop_pid_file`); the line to print."""
        return stop_line(self.name, stop_pid_file(self.pid_file, self.marker, timeout=timeout))

    def status(self, ready: Callable[[], bool], address: str) -> tuple[bool, str]:
        """(healthy, one line) for ``riskloop dev status``: healthy means ``ready`` answers,
        not merely that our process is alive."""
        pid = self.running()
        if not pid:
            return False, "not running"
        ok = ready()
        return ok, f"pid {pid}, {address}, {'healthy' if ok else 'not answering'}"


def stop_child(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM a child we started (a worker of a test or a benchmark run), SIGKILL after
    ``timeout`` seconds; returns once it is gone, so its ports and files are free."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
