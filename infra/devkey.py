"""The local signing key of development, tests and the demo: a stand-in for a province's SSO.

``riskloop users token`` signs with an ES256 key made on first use in
``<state_dir>/auth/dev-key.pem`` (0600, folder 0700) and writes the public half beside it as
``jwks.json``, which is where the API looks when ``RISKLOOP_AUTH__JWKS`` is unset. Production
sets ``RISKLOOP_AUTH__JWKS`` to the SSO's JWKS instead, and this key signs nothing it trusts.
The key id is the key's RFC 7638 thumbprint, so a new key is a new ``kid``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import TYPE_CHECKING

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from loop.identity import Principal, claims_for

if TYPE_CHECKING:
    from datetime import datetime, timedelta
    from pathlib import Path

ALGORITHM = "ES256"


class DevKey:
    """The key pair in ``folder``: made if missing, read otherwise."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.private = folder / "dev-key.pem"
        self.jwks = folder / "jwks.json"

    def ensure(self) -> ec.EllipticCurvePrivateKey:
        """The private key, created (with its JWKS) on first use; a lost JWKS is rewritten."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        if not self.private.exists():
            self._write_new_key()
        key = serialization.load_pem_private_key(self.private.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError(f"{self.private} is not an EC key")
        if not self.jwks.exists():
            _write_atomically(self.jwks, json.dumps(public_jwks(key), indent=2).encode(), 0o644)
        return key

    def _write_new_key(self) -> None:
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:  # O_EXCL: two first uses at once keep the first key, never a mix of two
            fd = os.open(self.private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        with os.fdopen(fd, "wb") as out:
            out.write(pem)

    def mint(
        self, who: Principal, *, issuer: str, audience: str, now: datetime, ttl: timedelta
    ) -> str:
        """A token naming ``who``, signed with this key (its ``kid`` in the header)."""
        key = self.ensure()
        claims = claims_for(who, issuer=issuer, audience=audience, now=now, ttl=ttl)
        return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": key_id(key)})


def public_jwks(key: ec.EllipticCurvePrivateKey) -> dict[str, object]:
    """The JWKS publishing the public half of ``key`` (what a verifier is given)."""
    jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {"keys": [{**jwk, "kid": key_id(key), "alg": ALGORITHM, "use": "sig"}]}


def key_id(key: ec.EllipticCurvePrivateKey) -> str:
    """The RFC 7638 thumbprint of the public key, base64url."""
    jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    tmp.replace(path)
