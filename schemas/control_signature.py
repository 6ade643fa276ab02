"""Signatures on control records: who published a rule pack, model, fence set, silence or calendar.

Anyone who can write to Kafka could otherwise change what every worker scores with. So each
record on a control topic (and each status record a worker answers with) carries an Ed25519
signature in three Kafka headers, over a canonical form of the record: the topic, the key, the
value bytes (or "none" for a tombstone), the signer's key id and the signing time.

Headers, not an envelope around the value: a tombstone (the withdraw of a pack or a silence)
must have a null value for compaction to work, and it must be signed too; the value bytes stay
exactly what every reader (rollback, ``control status``, older tools) already parses.

The canonical form length-prefixes every field, so no two different records share one, and it
names the topic, so a record signed for ``control.silences`` cannot be replayed onto another
control topic. A signed record copied back onto its own topic later is a replay: a silence
that was since expired, a fence set or calendar since replaced would come back. So a worker
keeps, per topic and name, the signing time of the latest record it accepted and refuses one
signed earlier (:func:`not_older`): log order then decides the same way live and at every
restart. (The exact latest record again is let through: the same content is "unchanged".)

>>> from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
>>> from datetime import UTC, datetime
>>> key = Ed25519PrivateKey.generate()
>>> headers = sign(key, "control.rulepacks", b"complaints", b"{}", datetime(2026, 1, 1, tzinfo=UTC))
>>> trusted = {key_id(key.public_key()): key.public_key()}
>>> verify(trusted, "control.rulepacks", b"complaints", b"{}", headers).reason
'ok'
>>> verify(trusted, "control.rulepacks", b"complaints", b"{ }", headers).reason
'bad_signature'
>>> verify({}, "control.rulepacks", b"complaints", b"{}", headers).reason
'unknown_key'
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from schemas.errors import ConfigError

KEY_ID_HEADER = "riskloop-signer"
SIGNED_AT_HEADER = "riskloop-signed-at"
SIGNATURE_HEADER = "riskloop-signature"
HEADERS = (KEY_ID_HEADER, SIGNED_AT_HEADER, SIGNATURE_HEADER)

_DOMAIN = b"riskloop-control-record-v1"
_NONE = 0xFFFF_FFFF_FFFF_FFFF  # length marker of an absent key or value (a tombstone)

Reason = Literal["ok", "unsigned", "malformed", "unknown_key", "bad_signature", "replayed"]
Headers = Iterable[tuple[str | bytes, str | bytes | None]] | Mapping[str, str | bytes | None]


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`verify`: ``reason`` is also the metric label of a refusal."""

    reason: Reason
    key_id: str = ""
    signed_at: str = ""
    detail: str = ""

    @property
    def ok(self) -> bool:
        """True when a trusted key signed the record and it is no replay; any other
        ``reason`` names the refusal.
        """
        return self.reason == "ok"


def key_id(public: Ed25519PublicKey) -> str:
    """A short, stable name of a public key: 16 hex digits of SHA-256 over its raw bytes."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def canonical(
    topic: str, key: bytes | None, value: bytes | None, kid: str, signed_at: str
) -> bytes:
    """The bytes that are signed: each field length-prefixed (8 bytes, big-endian).

    >>> canonical("t", b"k", None, "id", "at") == canonical("t", b"k", b"", "id", "at")
    False
    """
    out = [_DOMAIN]
    for field in (topic.encode(), key, value, kid.encode(), signed_at.encode()):
        if field is None:
            out.append(struct.pack(">Q", _NONE))
        else:
            out.append(struct.pack(">Q", len(field)) + field)
    return b"".join(out)


def sign(
    private: Ed25519PrivateKey, topic: str, key: bytes | None, value: bytes | None, now: datetime
) -> list[tuple[str, bytes]]:
    """The three signature headers of a record about to be produced on ``topic``."""
    kid = key_id(private.public_key())
    at = now.astimezone(UTC).isoformat()
    signature = private.sign(canonical(topic, key, value, kid, at))
    return [
        (KEY_ID_HEADER, kid.encode()),
        (SIGNED_AT_HEADER, at.encode()),
        (SIGNATURE_HEADER, base64.b64encode(signature)),
    ]


def verify(
    trusted: Mapping[str, Ed25519PublicKey],
    topic: str,
    key: bytes | None,
    value: bytes | None,
    headers: Headers | None,
) -> Verdict:
    """Is this record signed, by a trusted key, and unchanged since? Never raises."""
    found = _signature_headers(headers or ())
    if not found:
        return Verdict("unsigned", detail="the record carries no signature headers")
    if len(found) < len(HEADERS):
        missing = ", ".join(h for h in HEADERS if h not in found)
        return Verdict("malformed", detail=f"signature headers missing: {missing}")
    try:
        kid = found[KEY_ID_HEADER].decode("ascii")
        at = found[SIGNED_AT_HEADER].decode("ascii")
        signature = base64.b64decode(found[SIGNATURE_HEADER], validate=True)
    except ValueError:  # UnicodeDecodeError and binascii.Error are ValueErrors
        return Verdict("malformed", detail="signature headers are not ASCII/base64")
    public = trusted.get(kid)
    if public is None:
        return Verdict("unknown_key", kid, at, f"signer {kid} is not a trusted key")
    try:
        public.verify(signature, canonical(topic, key, value, kid, at))
    except InvalidSignature:
        return Verdict("bad_signature", kid, at, f"the signature of {kid} does not match")
    return Verdict("ok", kid, at)


def not_older(verdict: Verdict, latest: str | None) -> Verdict:
    """``verdict``, or a ``replayed`` one if it was signed before ``latest`` (the signing time
    of the newest record accepted for the same topic and name). Times are the signers' clocks:
    publishers must keep them roughly right (NTP), as for any audit trail.

    >>> ok = Verdict("ok", "k", "2026-12-02T10:00:00+00:00")
    >>> not_older(ok, "2026-12-02T09:00:00+00:00").reason, not_older(ok, None).reason
    ('ok', 'ok')
    >>> not_older(ok, "2026-12-02T11:00:00+00:00").reason
    'replayed'
    """
    if not verdict.ok or latest is None:
        return verdict
    try:
        older = datetime.fromisoformat(verdict.signed_at) < datetime.fromisoformat(latest)
    except (ValueError, TypeError):
        return Verdict("malformed", verdict.key_id, verdict.signed_at, "signing time is no date")
    if older:
        detail = f"signed {verdict.signed_at}, before the accepted record of {latest}"
        return Verdict("replayed", verdict.key_id, verdict.signed_at, detail)
    return verdict


def _signature_headers(headers: Headers) -> dict[str, bytes]:
    """Our headers by name; a repeated one keeps its first value (a second cannot override it)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    found: dict[str, bytes] = {}
    for name, raw in pairs:
        text = name.decode(errors="replace") if isinstance(name, bytes) else name
        if text in HEADERS and text not in found:
            found[text] = raw.encode() if isinstance(raw, str) else raw or b""
    return found


def parse_trusted(text: str, origin: str) -> dict[str, Ed25519PublicKey]:
    """Trusted keys, one OpenSSH public key line each (``ssh-ed25519 AAAA… comment``), as
    ``ssh-keygen -t ed25519`` writes them; blank lines and ``#`` comments are skipped."""
    keys: dict[str, Ed25519PublicKey] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            public = serialization.load_ssh_public_key(line.encode())
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise ConfigError(f"{origin}:{number}: not an OpenSSH public key ({exc})") from exc
        if not isinstance(public, Ed25519PublicKey):
            raise ConfigError(f"{origin}:{number}: not an Ed25519 key (ssh-ed25519 only)")
        keys[key_id(public)] = public
    return keys


def public_line(public: Ed25519PublicKey, comment: str) -> str:
    """One line of a trusted-keys file for ``public``."""
    raw = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return f"{raw.decode()} {comment}".strip()
