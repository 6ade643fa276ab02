"""The control signing key: generated for the dev stack (0600, public line beside it), never
silently replaced where one is configured; the trusted keys come from a file when set."""

from __future__ import annotations

import stat
from typing import TYPE_CHECKING

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from config.settings import Settings
from schemas.control_signature import parse_trusted, public_line
from schemas.errors import ConfigError
from streams.control_keyring import generate_key, load_keyring

if TYPE_CHECKING:
    from pathlib import Path


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(_env_file=None, dev={"state_dir": tmp_path / "state"}, **kw)  # type: ignore[call-arg, arg-type]


def test_the_dev_key_is_generated_once_private_with_its_public_line(tmp_path: Path) -> None:
    ring = load_keyring(_settings(tmp_path))
    path = tmp_path / "state" / "keys" / "control.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    pub = (path.parent / "control.key.pub").read_text(encoding="utf-8")
    assert list(parse_trusted(pub, "pub")) == [ring.key_id]
    assert load_keyring(_settings(tmp_path)).key_id == ring.key_id  # kept across restarts
    assert list(ring.trusted) == [ring.key_id]  # unset trusted list: its own key only


def test_a_second_generation_keeps_the_first_key(tmp_path: Path) -> None:
    path = tmp_path / "k" / "control.key"
    generate_key(path)
    first = path.read_bytes()
    generate_key(path)
    assert path.read_bytes() == first
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []


def test_a_configured_key_that_is_missing_is_an_error_not_a_new_key(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.key"
    with pytest.raises(ConfigError, match="does not exist"):
        load_keyring(_settings(tmp_path, control_signing_key=missing))
    assert not missing.exists()


def test_records_of_a_key_outside_the_trusted_file_do_not_verify(tmp_path: Path) -> None:
    modeller = tmp_path / "modeller.key"
    generate_key(modeller)
    other = Ed25519PrivateKey.generate()
    trusted = tmp_path / "trusted.pub"
    trusted.write_text(public_line(other.public_key(), "someone else") + "\n", encoding="utf-8")
    ring = load_keyring(
        _settings(tmp_path, control_signing_key=modeller, control_trusted_keys=trusted)
    )
    headers = ring.sign("control.silences", b"sil-1", b"{}")
    assert ring.verify("control.silences", b"sil-1", b"{}", headers).reason == "unknown_key"
    trusted.write_text(
        (tmp_path / "modeller.key.pub").read_text(encoding="utf-8"), encoding="utf-8"
    )
    ring = load_keyring(
        _settings(tmp_path, control_signing_key=modeller, control_trusted_keys=trusted)
    )
    assert ring.verify("control.silences", b"sil-1", b"{}", headers).ok


def test_an_unreadable_trusted_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read trusted control keys"):
        load_keyring(_settings(tmp_path, control_trusted_keys=tmp_path / "absent.pub"))


def test_a_key_folder_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot create the control signing key"):
        load_keyring(_settings(tmp_path))
