"""Hypothesis strategies derived from the pydantic models themselves (no hand-written lists)."""

from __future__ import annotations

import enum
import types
import typing
from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from schemas.records import Record


def _ms(t: datetime) -> datetime:
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def for_type(tp: Any) -> st.SearchStrategy[Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return st.none() | for_type(args[0])
    if origin is list:
        return st.lists(for_type(typing.get_args(tp)[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(max_size=8), for_type(typing.get_args(tp)[1]), max_size=3)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if isinstance(tp, type) and issubclass(tp, Record):
        return for_model(tp)
    simple: dict[Any, st.SearchStrategy[Any]] = {
        str: st.text(max_size=20),
        int: st.integers(-(2**63), 2**63 - 1),
        float: st.floats(allow_nan=False, allow_infinity=False),
        bool: st.booleans(),
        bytes: st.binary(max_size=20),
        datetime: st.datetimes(
            min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
        ).map(_ms),
    }
    return simple[tp]


def for_model(model: type[Record]) -> st.SearchStrategy[Record]:
    fields = {name: for_type(f.annotation) for name, f in model.model_fields.items()}
    return st.fixed_dictionaries(fields).map(lambda d: model(**d))
