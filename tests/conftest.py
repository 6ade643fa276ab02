"""Shared fixtures: settings built explicitly, never from the developer's environment."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from config.settings import Settings

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a test: memory store, SQLite in tmp, nothing read from the environment."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "worker",
        sql_url=f"sqlite:///{tmp_path / 'riskloop.db'}",
        log_format="console",
    )
