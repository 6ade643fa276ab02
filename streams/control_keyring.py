"""The keys that sign and verify control records (``schemas.control_signature``), from settings.

One private key per publisher: the CLI signs with the key of whoever runs it, a worker signs
what its API accepted from an authorised caller and the status records it writes. Workers (and
``rules publish``, reading their answers) trust the public keys listed in
``control_trusted_keys``; with none configured, only the signing key's own public key — which
is what a one-machine dev stack needs: every ``riskloop`` command and worker there shares the
generated key in the state folder.

The dev key is generated only where the setting is unset (the state folder): a configured key
file that is missing is an error, never silently replaced by a new key nobody trusts.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from schemas.control_signature import (
    Headers,
    Verdict,
    key_id,
    parse_trusted,
    public_line,
    sign,
    verify,
)
from schemas.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

    from config.settings import Settings


@dataclass(frozen=True)
class Keyring:
    """A signing key and the trusted public keys, by key id."""

    private: Ed25519PrivateKey
    trusted: dict[str, Ed25519PublicKey]

    @property
    def key_id(self) -> str:
        """The id of this keyring's own public key: what its signatures name and what a trusted list
        must hold for them to verify."""
        return key_id(self.private.public_key())

    def sign(self, topic: str, key: bytes | None, value: bytes | None) -> list[tuple[str, bytes]]:
        """Signature headers for one control record, signed now with the private key."""
        return sign(self.private, topic, key, value, datetime.now(UTC))

    def verify(
        self, topic: str, key: bytes | None, value: bytes | None, headers: Headers | None
    ) -> Verdict:
        """The verdict on a control record's signature headers against the trusted keys only."""
        return verify(self.trusted, topic, key, value, headers)


def _signing_key_path(settings: Settings) -> Path:
    return settings.control_signing_key or settings.dev.state_dir / "keys" / "control.key"


def load_keyring(settings: Settings) -> Keyring:
    """The keyring of ``settings``; generates the dev key if the setting is unset and none exists."""
    path = _signing_key_path(settings)
    if not path.exists():
        if settings.control_signing_key is not None:
            raise ConfigError(f"control signing key {path} does not exist")
        generate_key(path)
    private = _read_private(path)
    if settings.control_trusted_keys is None:
        trusted = {key_id(private.public_key()): private.public_key()}
    else:
        trusted_path = settings.control_trusted_keys
        try:
            text = trusted_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read trusted control keys {trusted_path}: {exc}") from exc
        trusted = parse_trusted(text, str(trusted_path))
    return Keyring(private, trusted)


def _read_private(path: Path) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read control signing key {path}: {exc}") from exc
    private: object
    try:
        private = serialization.load_ssh_private_key(data, password=None)
    except ValueError:
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{path}: not an unencrypted OpenSSH or PEM private key") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise ConfigError(f"{path}: not an Ed25519 key")
    return private


def generate_key(path: Path) -> None:
    """A new key at ``path`` (0600, folder 0700) and its public line at ``path.pub``.

    Written to a temporary file and linked into place, so two processes starting at once end
    with one key, and nobody reads a half-written one.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the control signing key in {path.parent} ({exc.strerror}); "
            "set RISKLOOP_CONTROL_SIGNING_KEY to a key file"
        ) from exc
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".control-key-")
    try:
        with os.fdopen(fd, "wb") as out:  # mkstemp makes it 0600
            out.write(pem)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return  # another process won: its key stands
    finally:
        os.unlink(tmp)
    pub = public_line(private.public_key(), f"riskloop-dev@{path.parent}")
    path.with_name(path.name + ".pub").write_text(pub + "\n", encoding="utf-8")
