"""Snapshots (hash, offsets, version guard) and hot-loading (build, swap, rollback, shadow)."""

from __future__ import annotations

import pytest

from models.errors import (
    CorruptSnapshot,
    IncompatibleSnapshot,
    ModelError,
    PublicationRejected,
    TamperedSnapshot,
)
from models.factories import create
from models.publication import ModelPublication, ModelRegistry, build
from models.snapshot import MAGIC, read_header, restore, sign, take

from .conftest import stream

KEY = b"test-snapshot-key-" + b"k" * 32


def _trained():
    model = create("equipment-anomaly", {"warmup": 20, "min_scores": 10})
    events = stream("equipment", 80)
    for event in events[:60]:
        model.process(event)
    return model, events


def test_snapshot_restores_same_state_and_offsets():
    model, events = _trained()
    blob = take(model, {"equipment.readings:0": 60, "equipment.readings:1": 7}, key=KEY)
    restored, header = restore(blob, expect_factory="equipment-anomaly", key=KEY)
    assert header.offsets == {"equipment.readings:0": 60, "equipment.readings:1": 7}
    assert header.factory == "equipment-anomaly"
    assert header.version == model.version
    assert [restored.process(e) for e in events[60:]] == [model.process(e) for e in events[60:]]


def test_snapshot_is_content_hashed():
    model, _ = _trained()
    blob = take(model, {}, key=KEY)
    header, _ = read_header(blob)
    assert len(header.content_hash) == 64
    with pytest.raises(CorruptSnapshot, match="sha256"):
        read_header(blob[:-1] + bytes([blob[-1] ^ 1]))
    with pytest.raises(CorruptSnapshot, match="magic"):
        read_header(b"garbage")


class _Evil:
    """What an attacker with write access to the snapshot table would pickle."""

    ran = False

    def __reduce__(self):
        return (_Evil._run, ())

    @staticmethod
    def _run():
        _Evil.ran = True
        return create("equipment-anomaly")


def test_tampered_snapshot_is_refused_before_anything_is_unpickled():
    """Rewriting the payload and its sha256 (all a table writer can do without the key)."""
    import hashlib
    import pickle

    model, _ = _trained()
    header, _ = read_header(take(model, {}, key=KEY))
    payload = pickle.dumps(_Evil())
    forged_header = header.model_copy(
        update={"content_hash": hashlib.sha256(payload).hexdigest(), "size": len(payload)}
    )
    body = forged_header.model_dump_json().encode() + b"\n" + payload
    for mac in (sign(body, b"some other key" * 3), b"0" * 64):
        with pytest.raises(TamperedSnapshot, match="signature does not verify"):
            restore(MAGIC + mac + b"\n" + body, expect_factory="equipment-anomaly", key=KEY)
    assert not _Evil.ran
    # the same forgery under the real key would run: the MAC is what stands in the way
    restore(MAGIC + sign(body, KEY) + b"\n" + body, expect_factory="equipment-anomaly", key=KEY)
    assert _Evil.ran


def test_snapshot_signed_with_another_key_is_refused():
    model, _ = _trained()
    blob = take(model, {}, key=b"x" * 32)
    with pytest.raises(TamperedSnapshot):
        restore(blob, expect_factory="equipment-anomaly", key=KEY)
    with pytest.raises(TamperedSnapshot):  # one byte of the header changed
        restore(
            take(model, {}, key=KEY).replace(b'"size":', b'"size": '),
            expect_factory="equipment-anomaly",
            key=KEY,
        )


def test_restore_refuses_incompatible_version_with_clear_message():
    model, _ = _trained()
    blob = take(model, {}, key=KEY)
    with pytest.raises(IncompatibleSnapshot, match="Start that model fresh"):
        restore(blob, expect_factory="equipment-anomaly", key=KEY, expect_state_version="2")
    with pytest.raises(IncompatibleSnapshot, match="truck-behaviour"):
        restore(blob, expect_factory="truck-behaviour", key=KEY)


def _pub(version: str, **params) -> ModelPublication:
    return ModelPublication(
        name="lifts",
        factory="equipment-anomaly",
        params=params,
        version=version,
        published_by="王工",
    )


def test_build_validates_params_and_factory():
    assert build(_pub("1", q=0.98)).q == 0.98
    with pytest.raises(PublicationRejected, match="bad params"):
        build(_pub("2", q=7))
    with pytest.raises(PublicationRejected, match="bad params"):
        build(_pub("3", exec="import os"))
    with pytest.raises(PublicationRejected, match="no model factory"):
        build(_pub("4").model_copy(update={"factory": "my-pickle"}))


def test_failed_publication_keeps_active_version():
    reg = ModelRegistry()
    reg.activate(_pub("1"))
    with pytest.raises(PublicationRejected):
        reg.activate(_pub("2", warmup=-1))
    assert reg.publication("lifts").version == "1"


def test_swap_and_rollback_keep_learnt_state():
    reg = ModelRegistry()
    reg.activate(_pub("1", warmup=10, min_scores=10))
    for event in stream("equipment", 30):
        reg.process("lifts", event)
    learnt = reg.get("lifts").units["LIFT-1"].seen
    reg.activate(_pub("2", warmup=10, min_scores=10))
    assert reg.get("lifts").version == "2"
    assert not reg.get("lifts").units
    back = reg.rollback("lifts")
    assert back.version == "1"
    assert back.units["LIFT-1"].seen == learnt
    with pytest.raises(ModelError, match="no previous"):
        reg.rollback("lifts")


def test_shadow_candidate_counts_disagreements_and_promotes():
    reg = ModelRegistry()
    reg.activate(_pub("1", warmup=20, min_scores=10))
    reg.start_shadow(_pub("2", warmup=20, min_scores=10, q=0.6))
    for event in stream("equipment", 200):
        live, shadow = reg.process("lifts", event)
        assert shadow is not None
        assert shadow.mode == "shadow"
        assert live.mode == "active"
    stats = reg.shadow_stats("lifts")
    assert stats["scored"] == 200
    assert stats["disagreements"] > 0
    promoted = reg.promote_shadow("lifts")
    assert promoted.version == "2"
    assert not promoted.shadow
    assert reg.rollback("lifts").version == "1"


def test_publication_hash_ignores_who_and_when():
    a, b = _pub("1", q=0.98), _pub("1", q=0.98).model_copy(update={"published_by": "李工"})
    assert a.content_hash == b.content_hash != _pub("1", q=0.97).content_hash
