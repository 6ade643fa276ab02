"""How a stored value is written: JSON, packed (zlib) when long — in the state changelog and,
for a value nobody has used lately, in the worker's memory too (:class:`Cold`).

The same bytes serve both: the checkpoint encodes each changed value once
(streams/checkpoint.py), and the partition store (streams/state.py) may keep exactly those bytes
instead of the decoded object once the value has gone cold, so a cold value costs its packed
JSON (a warning's ~2.8 KB instead of ~23 KB of pydantic objects) and nothing is encoded twice.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import orjson

PACKED = b"\x00z"
"""A value compressed before it was written: zlib (level 1) of its JSON. No JSON text starts
with a NUL byte, so a plain value is never mistaken for a packed one (and values written
before packing existed read as they are)."""
PACK_FROM = 512
"""Values at least this long (as JSON) are packed. Why: a warning's value is ~11–13 KB of
JSON (its evidence in brief and notice history; loop/warnings.py), a vehicle's ~4.5 KB, and
the state changelog was 18× the bytes of the input (bench, 2026-12-03); zlib level 1 makes
them several times smaller for tens of µs, once per changed key per checkpoint. Short values
(rule windows, clocks) would gain little and cost a call each."""
MAX_VALUE = 64 * 1024 * 1024
"""A packed value that would inflate beyond this is refused (a changelog record is not
trusted to make a worker allocate without bound)."""


@dataclass(frozen=True, slots=True)
class Cold:
    """A value held as its changelog bytes (``data``) rather than decoded; ``size`` is its
    JSON length, what the store's budget of decoded values counts it as once decoded again."""

    data: bytes
    size: int

    def value(self) -> Any:
        """The value, decoded afresh (the caller owns it)."""
        return orjson.loads(unpack(self.data))


def encode(value: Any) -> bytes | None:
    """A stored value as JSON (handlers store pydantic objects or plain JSON values), packed
    when long (:data:`PACKED`).

    >>> decode(encode({"a": "x" * 600}))["a"] == "x" * 600, encode({"a": 1})
    (True, b'{"a":1}')
    """
    return None if value is None else encode_sized(value).data


def encode_sized(value: Any) -> Cold:
    """:func:`encode`, with the JSON length (a cold value's weight once decoded again).

    >>> encode_sized({"a": 1})
    Cold(data=b'{"a":1}', size=7)
    """
    if isinstance(value, Cold):
        return value
    raw = orjson.dumps(value, default=_plain, option=orjson.OPT_NON_STR_KEYS)
    packed = PACKED + zlib.compress(raw, 1) if len(raw) >= PACK_FROM else raw
    if packed is raw or len(packed) >= len(raw):
        # a copy: the bytes orjson returns keep its whole buffer (~4 KB however short the
        # JSON, orjson 3.13), and a cold value is kept for long (measured: 4,038 B per
        # 165-byte window)
        return Cold(memoryview(raw).tobytes(), len(raw))
    return Cold(packed, len(raw))


def decode(data: bytes) -> Any:
    """A value as :func:`encode` wrote it. Raises ``ValueError`` for bytes that are neither
    JSON nor a packed value that inflates within :data:`MAX_VALUE`."""
    return orjson.loads(unpack(data))


def cold(data: bytes) -> Cold:
    """``data`` as a cold value, checked to decode (``ValueError`` otherwise) but not kept
    decoded: a partition restored from its changelog holds bytes until a value is used."""
    raw = unpack(data)
    orjson.loads(raw)
    return Cold(data, len(raw))


def unpack(data: bytes) -> bytes:
    """The JSON of a value as :func:`encode` wrote it (inflated when packed)."""
    if data.startswith(PACKED):
        return inflate(data[len(PACKED) :], MAX_VALUE, "packed state value")
    return data


def inflate(data: bytes, limit: int, what: str) -> bytes:
    """The zlib stream ``data`` inflated, at most ``limit`` bytes of it; ``ValueError`` naming
    ``what`` for bytes that do not inflate, are cut short, or would inflate beyond ``limit``."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit)
    except zlib.error as exc:
        raise ValueError(f"{what} does not inflate: {exc}") from exc
    if inflater.unconsumed_tail or not inflater.eof:
        raise ValueError(f"{what} is cut short or over {limit} bytes")
    return out


def _plain(value: Any) -> Any:
    """A pydantic value as its own JSON, spliced in as it is (``orjson.Fragment``).

    Why not ``model_dump(mode="json")`` for orjson to encode again: that builds a tree of
    dicts only to throw it away, and was half of a warning's encoding (~50 of ~110 µs,
    2026-12-03 ``ckpt``). pydantic-core's ``to_json`` writes the same bytes (compact,
    UTF-8, same key order, same float text; tests/unit/streams/test_packing_fragments.py pins it).
    """
    serializer = getattr(value, "__pydantic_serializer__", None)
    if serializer is None or not hasattr(value, "model_dump"):
        raise TypeError(f"cannot store a {type(value).__name__}")
    return orjson.Fragment(serializer.to_json(value))
