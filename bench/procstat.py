"""What /proc says about a process and the machine (psutil is not a dependency).

The benchmark reads peak RSS (``VmHWM``) and CPU time (``utime + stime``) of the processor it
measures, so the numbers are those of that process alone, not of the harness around it.
"""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from bench.stats import BenchError

PROC = Path("/proc")


def clock_ticks() -> int:
    """Kernel clock ticks per second, the unit of utime/stime in /proc/<pid>/stat."""
    return int(os.sysconf("SC_CLK_TCK"))


def parse_status_kib(text: str, field: str) -> int:
    """A ``kB`` field of /proc/<pid>/status (e.g. ``VmHWM``) in KiB.

    >>> parse_status_kib("Name:\\tpython\\nVmHWM:\\t  1024 kB\\n", "VmHWM")
    1024
    """
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name == field:
            return int(rest.split()[0])
    raise BenchError(f"{field} not found in /proc status")


def parse_stat_cpu(text: str, ticks: int) -> float:
    """CPU time (utime + stime) in seconds from one /proc/<pid>/stat line.

    The command name (field 2) may contain spaces and parentheses, so fields are counted
    from the last ``)``.

    >>> parse_stat_cpu("42 (a b) S " + " ".join(["0"] * 10) + " 150 50 0 0", 100)
    2.0
    """
    after = text[text.rindex(")") + 2 :].split()
    # after[0] is field 3 (state); utime and stime are fields 14 and 15
    return (int(after[11]) + int(after[12])) / ticks


def peak_rss_bytes(pid: int) -> int:
    """Peak resident set size of ``pid`` (VmHWM) in bytes."""
    return parse_status_kib(_read(PROC / str(pid) / "status"), "VmHWM") * 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds ``pid`` has used so far."""
    return parse_stat_cpu(_read(PROC / str(pid) / "stat"), clock_ticks())


def parse_cpu_model(text: str) -> str:
    """The first ``model name`` of /proc/cpuinfo (``unknown`` on CPUs that lack one).

    >>> parse_cpu_model("processor : 0\\nmodel name\\t: Intel(R) Xeon(R)\\n")
    'Intel(R) Xeon(R)'
    """
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "model name":
            return value.strip()
    return "unknown"


def machine_info() -> dict[str, object]:
    """Date, cores, CPU model, RAM and the load average *before* the run (what else was busy):
    a benchmark number means nothing without the machine and the moment."""
    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count() or 0,
        "cpu_model": parse_cpu_model(_read(PROC / "cpuinfo")),
        "ram_gib": round(parse_status_kib(_read(PROC / "meminfo"), "MemTotal") / 1024**2, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BenchError(f"cannot read {path}: {exc.strerror}") from exc
