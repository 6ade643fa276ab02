"""A stored pydantic value is encoded by pydantic-core's own JSON, spliced into orjson's output
(``orjson.Fragment``, streams/packing.py) instead of ``model_dump(mode="json")`` encoded again:
the changelog bytes must be exactly what the old path wrote, or a restore, the cold values and
the bench's byte counts would all move. Each test fails if the fast path diverges."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import orjson
import pytest
from pydantic import BaseModel, Field

from streams import packing


def old_encode(value: Any) -> tuple[bytes, int]:
    """The encoding as it was before the fragments (2026-12-03, main at 1ccdda1)."""

    def plain(v: Any) -> Any:
        dump = getattr(v, "model_dump", None)
        if dump is None:
            raise TypeError(f"cannot store a {type(v).__name__}")
        return dump(mode="json")

    raw = orjson.dumps(value, default=plain, option=orjson.OPT_NON_STR_KEYS)
    data = packing.PACKED + zlib.compress(raw, 1) if len(raw) >= packing.PACK_FROM else raw
    return data, len(raw)


class Colour(StrEnum):
    red = "red"


class Inner(BaseModel):
    at: datetime
    ratio: float
    big: float = 1e16
    tiny: float = 5e-324
    nan: float = float("nan")
    inf: float = float("inf")
    span: timedelta = timedelta(seconds=90, microseconds=5)


class Outer(BaseModel):
    name: str = '杭州市某某餐饮有限公司 "quoted" \\ \n\t \u2028 😀'
    colour: Colour = Colour.red
    inner: Inner
    items: list[Inner] = Field(default_factory=list)
    by_id: dict[str, Inner] = Field(default_factory=dict)
    maybe: int | None = None
    huge: int = 2**62


def _outer(i: int) -> Outer:
    at = datetime(2026, 12, 3, 12, 0, 0, 123456, tzinfo=UTC) + timedelta(seconds=i)
    inner = Inner(at=at, ratio=i / 7)
    return Outer(inner=inner, items=[inner] * (i % 3), by_id={f"k{i}": inner})


@pytest.mark.parametrize("i", range(12))
def test_a_model_encodes_to_the_old_bytes(i: int) -> None:
    value = _outer(i)
    assert packing.encode_sized(value) == packing.Cold(*old_encode(value))


def test_models_inside_plain_values_and_non_string_keys() -> None:
    value = {"w": [_outer(1), {"n": _outer(2)}], 3: _outer(40), "x": 0.1 + 0.2}
    data, size = old_encode(value)
    assert data.startswith(packing.PACKED)  # long enough to be packed: the zlib bytes agree too
    assert packing.encode_sized(value) == packing.Cold(data, size)
    assert packing.decode(data) == orjson.loads(
        orjson.dumps(
            value, default=lambda v: v.model_dump(mode="json"), option=orjson.OPT_NON_STR_KEYS
        )
    )


def test_something_not_pydantic_is_still_refused() -> None:
    with pytest.raises(TypeError):
        packing.encode({"a": object()})
