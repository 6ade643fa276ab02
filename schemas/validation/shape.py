"""A decoded record's structure, strict types and bounds in one pass, for the common case.

Ingest checks a decoded record three times before normalising it: :func:`check_value` (every
number and string bounded), the structure (no unknown field, every required one present) and
:func:`check_types` (each field of its declared type, no coercion), in that order, and the
first problem found is the reason and field the sender reads on the dead-letter topic. Each
walks the record, and together they were ~40 % of decode + validate (bench/RESULTS.md,
2026-12-04 "in-process").

:func:`structured` does the three in one walk over a plan made once per model, and answers
only for a record all three accept; anything else (a refusal, or a shape the plan does not
cover) gives None, and the caller runs the three exact checks, which find the refusal with
its reason, field and message as before. So it can only be faster, never different: a
record it accepts is one the exact checks accept, and it gives back what the structure check
gives back.

>>> from schemas.records import EquipmentReading
>>> structured(EquipmentReading, {"event_id": "e", "event_time": "2024-05-01T00:00:00Z",
...     "equipment_code": "c", "equipment_type": "elevator", "uscc": "u", "door_faults": 2,
...     "region_code": None, "trapped": None})
{'event_id': 'e', 'event_time': '2024-05-01T00:00:00Z', 'equipment_code': 'c', \
'equipment_type': 'elevator', 'uscc': 'u', 'region_code': None, 'door_faults': 2}
>>> structured(EquipmentReading, {"door_faults": "5"}) is None  # the exact checks say why
True
"""

from __future__ import annotations

import enum
import functools
import types
import typing
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from schemas.validation.strict import MAX_FLOAT, MAX_INT, MAX_METRICS, has_lone_surrogate

if TYPE_CHECKING:
    from collections.abc import Callable

    _Ok = Callable[[Any], bool]

__all__ = ["nullable", "structured"]


def structured(model: type[BaseModel], data: Any) -> dict[str, Any] | None:
    """``data``'s fields as the structure check keeps them (a null in a defaulted non-null
    field means absent), or None unless bounds, structure and types all accept it."""
    plan = _plan(model)
    if plan is None or type(data) is not dict:
        return None
    names, fields = plan
    if not names.issuperset(data):  # an unknown field
        return None
    out: dict[str, Any] = {}
    for name, required, nullable, ok in fields:
        value = data.get(name)
        if value is None:
            if required:
                return None
            if nullable and name in data:
                out[name] = None
            continue
        if ok is _text_ok:  # most fields: the same test without a call
            if type(value) is not str or not (value.isascii() or not has_lone_surrogate(value)):
                return None
        elif not ok(value):
            return None
        out[name] = value
    return out


_Field = tuple[str, bool, bool, "_Ok"]


@functools.cache
def _plan(model: type[BaseModel]) -> tuple[frozenset[str], tuple[_Field, ...]] | None:
    """Per field: name, required, nullable and its check; None if a field's type is one the
    plan does not cover (the exact checks then run on every record of ``model``)."""
    fields: list[_Field] = []
    for name, info in model.model_fields.items():
        ok = _checker(info.annotation)
        if ok is None:
            return None
        fields.append((name, info.is_required(), nullable(info.annotation), ok))
    return frozenset(model.model_fields), tuple(fields)


def nullable(annotation: Any) -> bool:
    """Whether ``annotation`` admits None (``X | None``)."""
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(
        None
    ) in typing.get_args(annotation)


def _text_ok(value: Any) -> bool:
    return type(value) is str and (value.isascii() or not has_lone_surrogate(value))


def _int_ok(value: Any) -> bool:
    return type(value) is int and -MAX_INT <= value <= MAX_INT


def _number_ok(value: Any) -> bool:
    """A finite float within ±MAX_FLOAT (NaN fails both comparisons), or a bounded int."""
    return (type(value) is float and -MAX_FLOAT <= value <= MAX_FLOAT) or _int_ok(value)


def _bool_ok(value: Any) -> bool:
    return type(value) is bool


def _time_ok(value: Any) -> bool:
    return type(value) is datetime or _text_ok(value)


def _checker(annotation: Any) -> _Ok | None:
    """What accepts a value of ``annotation`` exactly when ``check_value`` and
    ``check_types`` both would (or a narrower test); None for a type not covered."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        ok = _checker(inner[0]) if len(inner) == 1 else None
        return None if ok is None else (lambda v: v is None or ok(v))
    if origin is list:
        item = _checker(args[0])
        return None if item is None else (lambda v: type(v) is list and all(map(item, v)))
    if origin is dict:
        value = _checker(args[1]) if args[0] is str else None
        if value is None:
            return None
        return lambda v: (
            type(v) is dict
            and len(v) <= MAX_METRICS
            and all(map(_text_ok, v))
            and all(map(value, v.values()))
        )
    return _SCALARS.get(annotation) or _class_checker(annotation)


_SCALARS: dict[Any, _Ok] = {
    str: _text_ok,
    int: _int_ok,
    float: _number_ok,
    bool: _bool_ok,
    datetime: _time_ok,
}


def _class_checker(annotation: Any) -> _Ok | None:
    if not isinstance(annotation, type):
        return None
    if issubclass(annotation, enum.Enum):
        return _text_ok
    if issubclass(annotation, BaseModel):
        return _nested_checker(annotation)
    return None


def _nested_checker(model: type[BaseModel]) -> _Ok | None:
    """A nested record (an inspection's violation): its known fields checked; an unknown key
    is left to the exact checks (they bound it, and the model refuses it)."""
    checks: dict[str, _Ok] = {}
    for name, info in model.model_fields.items():
        ok = _checker(info.annotation)
        if ok is None:
            return None
        checks[name] = ok

    def nested_ok(value: Any) -> bool:
        if type(value) is not dict:
            return False
        for key, item in value.items():
            ok = checks.get(key)
            if ok is None or not ok(item):
                return False
        return True

    return nested_ok
