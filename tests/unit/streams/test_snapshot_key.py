"""The snapshot signing key: from the secret setting, else one key file per data dir (0600)."""

from __future__ import annotations

import stat
from typing import TYPE_CHECKING

import pytest
from pydantic import SecretStr

from config.settings import Settings
from schemas.errors import ConfigError
from streams.snapshots import KEY_FILE, snapshot_key

if TYPE_CHECKING:
    from pathlib import Path


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "worker", **kw)  # type: ignore[call-arg]


def test_key_file_is_created_once_private_and_kept(tmp_path: Path) -> None:
    first = snapshot_key(_settings(tmp_path))
    path = tmp_path / "worker" / KEY_FILE
    assert len(first) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert snapshot_key(_settings(tmp_path)) == first  # a restart verifies its own snapshots
    assert snapshot_key(_settings(tmp_path / "other")) != first


def test_the_setting_wins_and_writes_no_file(tmp_path: Path) -> None:
    s = _settings(tmp_path, snapshot_key=SecretStr("shared secret of all workers"))
    assert snapshot_key(s) == b"shared secret of all workers"
    assert not (tmp_path / "worker" / KEY_FILE).exists()


def test_a_truncated_key_file_is_an_error_not_a_weak_key(tmp_path: Path) -> None:
    (tmp_path / "worker").mkdir()
    (tmp_path / "worker" / KEY_FILE).write_bytes(b"short")
    with pytest.raises(ConfigError, match="shorter than 32"):
        snapshot_key(_settings(tmp_path))
