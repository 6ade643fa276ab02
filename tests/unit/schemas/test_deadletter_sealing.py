"""Dead-letter originals sealed under the operators' key: nothing lost, nothing readable
without it, and records from before sealing still read."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.errors import ValidationFailed
from schemas.ingest import dead_letter, original_of, preview_of
from schemas.records import DeadLetter
from schemas.sealing import Sealer, SealError

NOW = datetime(2024, 5, 1, tzinfo=UTC)
SEALER = Sealer("operators' key")
PHONE = "13812345678"


def letter(payload: bytes, key: bytes | None = b"k", **kwargs: object) -> DeadLetter:
    return dead_letter(
        ValidationFailed("bad_json", f"not JSON near {PHONE}"),
        source="complaints",
        topic="complaints",
        key=key,
        payload=payload,
        now=NOW,
        **kwargs,  # type: ignore[arg-type]
    )


@settings(max_examples=100, deadline=None)
@given(payload=st.binary(max_size=2000), key=st.none() | st.binary(max_size=50))
def test_decrypting_gives_back_the_exact_original(payload: bytes, key: bytes | None) -> None:
    sealed = letter(payload, key, sealer=SEALER)
    wire = DeadLetter.model_validate_json(sealed.model_dump_json())  # through the topic's JSON
    assert original_of(wire, SEALER) == (key, payload)


def test_the_wire_bytes_hold_no_phone_number() -> None:
    sealed = letter(
        json.dumps({"text": f"请回电{PHONE}"}).encode(), key=PHONE.encode(), sealer=SEALER
    )
    wire = sealed.model_dump_json().encode()
    decoded = base64.urlsafe_b64decode(json.loads(wire)["payload"])
    for blob in (wire, decoded, sealed.key or b""):
        assert PHONE.encode() not in blob
    assert sealed.preview == '{"text": "请回电138****5678"}'
    assert sealed.message == "not JSON near 138****5678"
    assert sealed.encryption == SEALER.scheme


def test_another_key_or_no_key_is_refused_clearly() -> None:
    sealed = letter(b"x", sealer=SEALER)
    with pytest.raises(SealError, match="another key"):
        original_of(sealed, Sealer("someone else's"))
    with pytest.raises(SealError, match="no key is set"):
        original_of(sealed, None)
    damaged = sealed.model_copy(update={"payload": sealed.payload[:-1] + b"\0"})
    with pytest.raises(SealError, match="do not open"):
        original_of(damaged, SEALER)


def test_a_record_from_before_sealing_still_reads() -> None:
    old = {  # a version-1 record: no encryption, no preview
        "reason": "bad_json",
        "field": "",
        "message": "m",
        "source": "complaints",
        "topic": "complaints",
        "partition": 0,
        "offset": 7,
        "key": None,
        "payload": base64.urlsafe_b64encode(f"电话{PHONE}".encode()).decode(),
        "rejected_at": "2024-05-01T00:00:00Z",
        "worker": "w",
    }
    record = DeadLetter.model_validate_json(json.dumps(old))
    assert original_of(record, None) == (None, f"电话{PHONE}".encode())
    assert preview_of(record) == "电话138****5678"


def test_a_large_sealed_payload_stays_within_the_limit() -> None:
    sealed = letter(b"a" * 5000, sealer=SEALER, max_payload_bytes=1000)
    assert len(sealed.payload) <= 1000
    assert original_of(sealed, SEALER)[1] == b"a" * (1000 - 28)
    assert "truncated to 972 of 5000 bytes" in sealed.message
