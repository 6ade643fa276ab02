"""Fixtures of the operations-asset tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def promtool() -> str:
    """Debian's promtool, installed through the project's own helper on a fresh machine."""
    from infra.packages import ensure_binary

    return ensure_binary("promtool", "prometheus")
