"""Signatures of control records: canonical form, sign/verify, and every way to break one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa as rsa_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from schemas.control_signature import (
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    SIGNED_AT_HEADER,
    canonical,
    key_id,
    not_older,
    parse_trusted,
    public_line,
    sign,
    verify,
)
from schemas.errors import ConfigError

NOW = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
TOPIC, KEY, VALUE = "control.rulepacks", b"complaints@2.0.0#0123456789abcdef", b'{"name":"x"}'


@pytest.fixture
def signer() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def trusted_of(*keys: Ed25519PrivateKey) -> dict[str, Ed25519PublicKey]:
    return {key_id(k.public_key()): k.public_key() for k in keys}


def test_a_signed_record_verifies_and_names_its_signer(signer: Ed25519PrivateKey) -> None:
    headers = sign(signer, TOPIC, KEY, VALUE, NOW)
    verdict = verify(trusted_of(signer), TOPIC, KEY, VALUE, headers)
    assert verdict.ok
    assert verdict.key_id == key_id(signer.public_key())
    assert verdict.signed_at == NOW.isoformat()


def test_a_signed_tombstone_verifies_and_is_not_a_signed_empty_value(
    signer: Ed25519PrivateKey,
) -> None:
    trusted = trusted_of(signer)
    headers = sign(signer, TOPIC, b"complaints", None, NOW)
    assert verify(trusted, TOPIC, b"complaints", None, headers).ok
    assert verify(trusted, TOPIC, b"complaints", b"", headers).reason == "bad_signature"


@pytest.mark.parametrize(
    ("topic", "key", "value"),
    [
        ("control.silences", KEY, VALUE),  # replayed onto another control topic
        (TOPIC, b"complaints", VALUE),  # filed under another key
        (TOPIC, KEY, b'{"name":"y"}'),  # value changed
        (TOPIC, KEY, None),  # turned into a tombstone
    ],
)
def test_any_change_of_topic_key_or_value_is_a_bad_signature(
    signer: Ed25519PrivateKey, topic: str, key: bytes, value: bytes | None
) -> None:
    headers = sign(signer, TOPIC, KEY, VALUE, NOW)
    assert verify(trusted_of(signer), topic, key, value, headers).reason == "bad_signature"


def test_a_changed_signing_time_or_key_id_breaks_the_signature(
    signer: Ed25519PrivateKey,
) -> None:
    other = Ed25519PrivateKey.generate()
    trusted = trusted_of(signer, other)
    headers = dict(sign(signer, TOPIC, KEY, VALUE, NOW))
    later = {**headers, SIGNED_AT_HEADER: b"2099-01-01T00:00:00+00:00"}
    assert verify(trusted, TOPIC, KEY, VALUE, later).reason == "bad_signature"
    claimed = {**headers, KEY_ID_HEADER: key_id(other.public_key()).encode()}
    assert verify(trusted, TOPIC, KEY, VALUE, claimed).reason == "bad_signature"


def test_unsigned_unknown_and_malformed_records_are_told_apart(
    signer: Ed25519PrivateKey,
) -> None:
    trusted = trusted_of(signer)
    stranger = Ed25519PrivateKey.generate()
    assert verify(trusted, TOPIC, KEY, VALUE, None).reason == "unsigned"
    assert verify(trusted, TOPIC, KEY, VALUE, [("other", b"x")]).reason == "unsigned"
    unknown = sign(stranger, TOPIC, KEY, VALUE, NOW)
    assert verify(trusted, TOPIC, KEY, VALUE, unknown).reason == "unknown_key"
    partial = [h for h in sign(signer, TOPIC, KEY, VALUE, NOW) if h[0] != SIGNATURE_HEADER]
    assert verify(trusted, TOPIC, KEY, VALUE, partial).reason == "malformed"
    garbage = dict(sign(signer, TOPIC, KEY, VALUE, NOW)) | {SIGNATURE_HEADER: b"\xff not b64"}
    assert verify(trusted, TOPIC, KEY, VALUE, garbage).reason == "malformed"


def test_a_second_signature_header_cannot_override_the_first(signer: Ed25519PrivateKey) -> None:
    """Kafka headers may repeat; a forger appending his own must not win."""
    stranger = Ed25519PrivateKey.generate()
    trusted = trusted_of(signer)
    forged = sign(stranger, TOPIC, KEY, b"forged", NOW)
    genuine = sign(signer, TOPIC, KEY, VALUE, NOW)
    assert verify(trusted, TOPIC, KEY, b"forged", genuine + forged).reason == "bad_signature"


def test_canonical_form_length_prefixes_so_fields_cannot_slide() -> None:
    assert canonical("t", b"ab", b"c", "k", "a") != canonical("t", b"a", b"bc", "k", "a")
    assert canonical("t", None, b"v", "k", "a") != canonical("t", b"", b"v", "k", "a")
    assert canonical("t", b"k", b"v", "k", "a") == canonical("t", b"k", b"v", "k", "a")


def test_trusted_keys_file_reads_openssh_lines_and_refuses_other_keys(
    signer: Ed25519PrivateKey,
) -> None:
    text = f"# the centre's modellers\n\n{public_line(signer.public_key(), 'li.lei@centre')}\n"
    keys = parse_trusted(text, "trusted.pub")
    assert list(keys) == [key_id(signer.public_key())]
    with pytest.raises(ConfigError, match=r"trusted.pub:1: not an OpenSSH public key"):
        parse_trusted("not a key\n", "trusted.pub")
    rsa = rsa_key.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    rsa_line = rsa.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    with pytest.raises(ConfigError, match=r"trusted.pub:2: not an Ed25519 key"):
        parse_trusted(f"\n{rsa_line.decode()} x\n", "trusted.pub")


def test_a_record_signed_before_the_latest_accepted_one_is_a_replay(
    signer: Ed25519PrivateKey,
) -> None:
    trusted = trusted_of(signer)
    old = verify(trusted, TOPIC, KEY, VALUE, sign(signer, TOPIC, KEY, VALUE, NOW))
    later = NOW.replace(hour=19).isoformat()
    assert not_older(old, later).reason == "replayed"
    assert not_older(old, old.signed_at).ok  # the latest record itself again: unchanged
    assert not_older(old, None).ok
    unsigned = verify(trusted, TOPIC, KEY, VALUE, None)
    assert not_older(unsigned, later).reason == "unsigned"  # the first refusal stands
    assert not_older(old, "yesterday").reason == "malformed"
