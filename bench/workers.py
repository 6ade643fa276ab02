"""A ``riskloop worker`` subprocess on settings a bench run made for itself.

The chaos scenarios and the dashboard snapshot both start real workers on private topics,
ports and folders; the worker reads its settings from the environment, so every field of the
run's ``Settings`` travels there (``subprocess_env``), never the caller's own ``RISKLOOP_*``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

from config.settings import PROJECT_ROOT, subprocess_env

if TYPE_CHECKING:
    from pathlib import Path

    from config.settings import Settings


def settings_env(s: Settings) -> dict[str, str]:
    """Environment that makes a ``riskloop`` subprocess use exactly settings ``s``."""
    return subprocess_env(s, dict(os.environ))


def start_worker(s: Settings, log: Path) -> subprocess.Popen[bytes]:
    """``python -m streams worker`` on settings ``s``, its output to ``log``, in its own
    session so that a signal a scenario sends it reaches no one else. The caller stops it."""
    return start(s, log, "worker")


def start(s: Settings, log: Path, *command: str) -> subprocess.Popen[bytes]:
    """``python -m streams COMMAND…`` on settings ``s`` (e.g. ``console``), its output to
    ``log``, in its own session. The caller stops it."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "streams", *command],
            cwd=PROJECT_ROOT,
            env=settings_env(s),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
