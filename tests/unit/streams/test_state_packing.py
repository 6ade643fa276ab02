"""Long state values are packed (zlib) in the changelog, and read back exactly; a packed value
that is corrupt, cut short or would inflate without bound is skipped as not ours, never a crash
(streams/checkpoint.py, ``encode``/``decode``)."""

from __future__ import annotations

import zlib

import pytest

from streams import packing
from streams.checkpoint import PACKED, decode, encode, replay_changelog
from streams.packing import Cold
from streams.tables import changelog_value

WARNING = {
    "entity": "913301",
    "warnings": {
        f"fp-{i}": {"evidence": [f"e-{j}" for j in range(40)], "title": "疑似食物中毒投诉"}
        for i in range(5)
    },
}


def test_a_long_value_is_packed_smaller_and_read_back_exactly() -> None:
    data = encode(WARNING)
    assert data is not None
    assert data.startswith(PACKED)
    assert len(data) * 3 < len(zlib.decompress(data[len(PACKED) :]))
    assert decode(data) == WARNING
    assert changelog_value(b"warnings/913301", data) == ("warnings", "913301", WARNING)
    restored = replay_changelog([(b"warnings/913301", data), (b"~checkpoint", b'{"absorbed": {}}')])
    held = restored.state.tables["warnings"]["913301"]  # kept as the bytes until used
    assert isinstance(held, Cold)
    assert held.data == data
    assert held.value() == WARNING


def test_a_short_value_stays_plain_json() -> None:
    assert encode({"n": 1}) == b'{"n":1}'


@pytest.mark.parametrize(
    "data",
    [PACKED + b"not zlib", PACKED + zlib.compress(b'{"a": 1}')[:-3], PACKED + zlib.compress(b"{")],
)
def test_a_bad_packed_value_is_skipped_not_raised(data: bytes) -> None:
    with pytest.raises(ValueError, match="packed state value|unexpected end of data"):
        decode(data)
    restored = replay_changelog([(b"t/k", data), (b"~checkpoint", b'{"absorbed": {}}')])
    assert restored.bad == 1
    assert "t" not in restored.state.tables


def test_a_value_that_would_inflate_without_bound_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(packing, "MAX_VALUE", 1000)
    bomb = PACKED + zlib.compress(b"[" + b"0," * 10_000 + b"0]")
    with pytest.raises(ValueError, match="over 1000 bytes"):
        decode(bomb)
