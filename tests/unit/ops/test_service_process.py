"""infra/process.py's ServiceProcess on a real child (a sleeping Python), no service needed:
the steps every dev service's start, stop and status share."""

from __future__ import annotations

import sys
import time
import uuid
from typing import TYPE_CHECKING

import pytest

from infra.errors import InfraError
from infra.process import ServiceProcess, read_pid

if TYPE_CHECKING:
    from pathlib import Path


def _service(tmp_path: Path) -> ServiceProcess:
    marker = f"riskloop-test-{uuid.uuid4().hex}"
    return ServiceProcess("sleeper", "The sleeper", tmp_path / "s.pid", tmp_path / "s.log", marker)


def _argv(service: ServiceProcess, code: str) -> list[str]:
    return [sys.executable, "-c", code, service.marker]


def test_spawn_run_status_stop(tmp_path: Path) -> None:
    service = _service(tmp_path)
    assert service.running() is None
    assert service.status(lambda: True, "here") == (False, "not running")
    pid = service.spawn(_argv(service, "import time; time.sleep(60)"))
    try:
        assert read_pid(service.pid_file) == pid
        service.wait_ready(lambda: service.running() == pid, timeout=10, pid=pid)
        assert service.status(lambda: True, "127.0.0.1:1") == (
            True,
            f"pid {pid}, 127.0.0.1:1, healthy",
        )
        assert service.status(lambda: False, "x") == (False, f"pid {pid}, x, not answering")
    finally:
        line = service.stop(timeout=10)
    assert line == f"sleeper stopped (pid {pid})"
    assert not service.pid_file.exists()
    assert service.running() is None
    assert service.stop() == "sleeper was not running"


def test_a_pid_file_naming_someone_else_is_not_ours(tmp_path: Path) -> None:
    service = _service(tmp_path)
    service.pid_file.write_text("1\n")  # init: alive, but its command line lacks our marker
    assert service.running() is None
    assert service.stop() == "sleeper was not running"
    assert not service.pid_file.exists()


def test_a_process_that_dies_at_start_fails_at_once_with_its_log(tmp_path: Path) -> None:
    service = _service(tmp_path)
    pid = service.spawn(_argv(service, "print('no config here'); raise SystemExit(3)"))
    t0 = time.monotonic()
    with pytest.raises(InfraError, match="The sleeper exited during start-up") as info:
        service.wait_ready(lambda: False, timeout=60, pid=pid)
    assert time.monotonic() - t0 < 30
    assert "no config here" in str(info.value)


def test_without_a_pid_only_the_timeout_ends_the_wait(tmp_path: Path) -> None:
    service = _service(tmp_path)
    with pytest.raises(InfraError, match="The sleeper was not ready after 0 s"):
        service.wait_ready(lambda: False, timeout=0.3)
