"""Strict shapes: a value is of its declared type as sent, and small enough for what holds it.

Pydantic's lax mode turns ``"5"`` into 5 and ``"yes"`` into True: a sender's bug becomes a
plausible reading nobody sees. The standard says a count is a JSON integer and a flag a JSON
boolean, so a value of another type is refused here, before a model is built. Numbers are also
bounded: an integer past ±2**53 is no longer exact as a float (and one past ~1.8e308 cannot
become a float at all), and a float near the top of the range turns a window sum into inf.
Every string is checked for lone surrogates, which JSON escapes (``"\\ud800"``) can carry but
UTF-8 cannot encode: such a record would fail the first time anything writes it out.

>>> from schemas.records import EquipmentReading
>>> check_types(EquipmentReading, {"door_faults": 2, "trapped": False})
>>> try:
...     check_types(EquipmentReading, {"door_faults": "5"})
... except ValidationFailed as exc:
...     print(exc.reason, exc.field)
wrong_type door_faults
>>> try:
...     check_types(EquipmentReading, {"metrics": {f"m{i}": 1.0 for i in range(MAX_METRICS + 1)}})
... except ValidationFailed as exc:
...     print(exc.reason, exc.field)
too_many_metrics metrics
"""

from __future__ import annotations

import enum
import math
import types
import typing
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from schemas.errors import ValidationFailed

MAX_INT = 2**53
"""Largest integer magnitude accepted: exact as a float, and far inside Avro's long."""

MAX_FLOAT = 1e15
"""Largest float magnitude accepted: a million such readings still sum to a finite number."""

MAX_METRICS = 128
"""Most names one map field may hold (an equipment reading's ``metrics``, ``units``, ``rated``).

A device reports a few dozen channels at most; every name is a feature the equipment model keeps
per device, and 2,000 names in one reading once stalled its Mahalanobis distance for 8 s (5,000
for 206 s). The model caps its own dimension too (``max_features``); this bound stops the cost
at the door, after one linear scan and before any per-name work. Refused as
``too_many_metrics``.
"""


def has_lone_surrogate(text: str) -> bool:
    """True if ``text`` holds a UTF-16 surrogate (it cannot be encoded as UTF-8).

    >>> has_lone_surrogate("ok"), has_lone_surrogate("a\\ud800")
    (False, True)
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_value(value: Any, path: str) -> None:
    """Bounds every number and string in ``value``, nested, whatever its declared type."""
    stack = [(path, value)]
    while stack:
        where, v = stack.pop()
        if isinstance(v, bool):
            continue
        if isinstance(v, int) and not -MAX_INT <= v <= MAX_INT:
            raise ValidationFailed("bad_value", f"integer beyond ±2**53 ({str(v)[:30]}…)", where)
        if isinstance(v, float):
            if not math.isfinite(v):
                raise ValidationFailed("bad_value", f"{v} is not a finite number", where)
            if abs(v) > MAX_FLOAT:
                raise ValidationFailed("bad_value", f"{v:g} beyond ±{MAX_FLOAT:g}", where)
        if isinstance(v, str) and has_lone_surrogate(v):
            raise ValidationFailed("bad_text", "lone UTF-16 surrogate (not encodable)", where)
        if isinstance(v, dict):
            for k, x in v.items():
                if isinstance(k, str) and has_lone_surrogate(k):
                    raise ValidationFailed("bad_text", "lone UTF-16 surrogate in a key", where)
                stack.append((f"{where}.{k}" if where else str(k), x))
        elif isinstance(v, list):
            stack.extend((f"{where}.{i}" if where else str(i), x) for i, x in enumerate(v))


def check_types(model: type[BaseModel], data: dict[str, Any], path: str = "") -> None:
    """Refuses any field of ``data`` whose type is not its declared one (no coercion)."""
    for name, info in model.model_fields.items():
        if name in data:
            _check(info.annotation, data[name], f"{path}.{name}" if path else name)


def _wrong(expected: str, value: Any, where: str) -> ValidationFailed:
    return ValidationFailed("wrong_type", f"expected {expected}, got {type(value).__name__}", where)


def _check(annotation: Any, value: Any, where: str) -> None:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return
        (inner,) = [a for a in args if a is not type(None)]
        _check(inner, value, where)
    elif origin is list:
        if not isinstance(value, list):
            raise _wrong("a list", value, where)
        for i, item in enumerate(value):
            _check(args[0], item, f"{where}.{i}")
    elif origin is dict:
        if not isinstance(value, dict):
            raise _wrong("an object", value, where)
        if len(value) > MAX_METRICS:
            raise ValidationFailed(
                "too_many_metrics", f"{len(value)} names, more than {MAX_METRICS}", where
            )
        for k, item in value.items():
            _check(args[1], item, f"{where}.{k}")
    elif annotation is bool:
        if not isinstance(value, bool):
            raise _wrong("a boolean", value, where)
    elif annotation is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _wrong("an integer", value, where)
    elif annotation is float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise _wrong("a number", value, where)
    elif annotation is str or (isinstance(annotation, type) and issubclass(annotation, enum.Enum)):
        if not isinstance(value, str):
            raise _wrong("a string", value, where)
    elif annotation is datetime:
        if not isinstance(value, str | datetime):
            raise _wrong("an ISO-8601 string", value, where)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if not isinstance(value, dict):
            raise _wrong("an object", value, where)
        check_types(annotation, value, where)
