"""Model snapshots are compressed in the changelog (streams/model_state.py ``pack``): smaller,
read back whole, older unpacked records still read, and hostile bytes refused before they
cost memory."""

from __future__ import annotations

import zlib

import pytest

from config.settings import Settings
from models.worker_models import build_models
from streams import model_state
from streams.model_state import PACKED, pack, snapshot_blobs, snapshot_records, unpack

KEY = b"k" * 32


def test_a_snapshot_is_packed_smaller_and_read_back_whole() -> None:
    models = build_models(Settings(_env_file=None))  # type: ignore[call-arg]
    whole = models.snapshot({"t:0": 3}, key=KEY)
    records = dict(snapshot_records(models, {"t:0": 3}, key=KEY))
    blobs = snapshot_blobs(records)
    assert set(blobs) == set(whole)
    for name, blob in blobs.items():
        assert blob.split(b"\n", 2)[0] == whole[name].split(b"\n", 2)[0]  # same magic + MAC
        assert models.restore(name, blob, key=KEY) is not None
    stored = sum(len(v or b"") for k, v in records.items() if k.startswith(b"~model/"))
    assert stored < sum(len(b) for b in whole.values())


def test_an_older_unpacked_record_is_read_as_it_is() -> None:
    assert unpack(b"RLSNAP2\nabc") == b"RLSNAP2\nabc"


def test_bytes_that_do_not_inflate_or_inflate_too_far_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValueError, match="does not inflate"):
        unpack(PACKED + b"not zlib at all")
    with pytest.raises(ValueError, match="cut short"):
        unpack(pack(b"x" * 10_000)[:-4])
    monkeypatch.setattr(model_state, "MAX_UNPACKED", 1000)
    bomb = PACKED + zlib.compress(b"\0" * 1_000_000)
    with pytest.raises(ValueError, match="over 1000 bytes"):
        unpack(bomb)
    # in a partition's records, such a model starts fresh instead of failing the restore
    records = {b"~model/m/0": bomb, b"~models": b'{"m": 1}'}
    assert snapshot_blobs(records) == {}
