"""Sealing the originals of rejected records: AES-256-GCM under a key operators hold.

A dead-letter record keeps the original bytes so nothing is lost, and those bytes are whatever
the caller sent — phone and ID numbers included. Sealed, they are readable only with the key
(``RISKLOOP_DEADLETTER_KEY``); the reason and a masked preview stay readable for everyone who
triages the topic. The key is any secret string: HKDF-SHA256 turns it into the AES key, so a
generated password, a vault entry or a passphrase all work. A sealed value is
``nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)``; the record names the scheme and a key id
(a hash of the derived key, not the key) so a record sealed under a rotated key says so.

>>> sealer = Sealer("correct horse battery staple")
>>> sealed = sealer.seal(b"\\xff raw bytes 13812345678")
>>> b"13812345678" in sealed, sealer.open(sealed, sealer.scheme)
(False, b'\\xff raw bytes 13812345678')
"""

from __future__ import annotations

import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from schemas.errors import RiskLoopError

ALGORITHM = "aes256gcm"
OVERHEAD = 12 + 16
"""Bytes sealing adds (nonce and tag): the dead-letter payload limit leaves room for them."""
_INFO = b"riskloop dead-letter original v1"
_NONCE = 12


class SealError(RiskLoopError):
    """A sealed value could not be opened: another key, another scheme, or damaged bytes."""


class Sealer:
    """Seals and opens bytes under one secret; ``scheme`` is ``aes256gcm:<key id>``."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise SealError("the dead-letter key is empty")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
            secret.encode()
        )
        self._aead = AESGCM(key)
        self.scheme = f"{ALGORITHM}:{hashlib.sha256(key).hexdigest()[:12]}"

    def seal(self, data: bytes) -> bytes:
        """Encrypt ``data`` with a fresh random nonce (kept in front of the ciphertext):
        AES-GCM must never see one nonce twice under a key.
        """
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, data, _INFO)

    def open(self, sealed: bytes, scheme: str) -> bytes:
        """The original bytes of ``sealed``, exactly; :class:`SealError` if this key cannot."""
        if scheme != self.scheme:
            raise SealError(
                f"sealed as {scheme or 'plain'}, this key is {self.scheme}: another key"
            )
        try:
            return self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], _INFO)
        except (InvalidTag, ValueError) as exc:
            raise SealError("the sealed bytes do not open with this key (damaged?)") from exc
