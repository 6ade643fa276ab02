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
import functools
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
    if text.isascii():  # the common case, without building the bytes
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_value(value: Any, path: str) -> None:
    """Bounds every number and string in ``value``, nested, whatever its declared type.

    Runs on every field of every event, so the path of a value (``a.b.0``) is only spelt out
    for the one that fails: the walk keeps ``(parent, key)`` links (decode + validate was the
    largest part of an event's domain work; see bench/RESULTS.md, 2026-12-02 14:50).

    >>> try:
    ...     check_value({"a": [1, {"b": float("nan")}]}, "")
    ... except ValidationFailed as exc:
    ...     print(exc.reason, exc.field)
    bad_value a.1.b
    """
    stack: list[tuple[Any, Any]] = [(value, None)]
    while stack:
        v, where = stack.pop()
        kind = type(v)
        if kind is str:
            if not v.isascii() and has_lone_surrogate(v):
                raise ValidationFailed(
                    "bad_text", "lone UTF-16 surrogate (not encodable)", _path(path, where)
                )
        elif kind is dict:
            for k, x in v.items():
                if isinstance(k, str) and has_lone_surrogate(k):
                    raise ValidationFailed(
                        "bad_text", "lone UTF-16 surrogate in a key", _path(path, where)
                    )
                stack.append((x, (where, k)))
        elif kind is list:
            stack.extend((x, (where, i)) for i, x in enumerate(v))
        elif kind is bool or v is None:
            continue
        else:
            _check_scalar(v, path, where)


def _check_scalar(v: Any, path: str, where: Any) -> None:
    if isinstance(v, bool):
        return
    if isinstance(v, int) and not -MAX_INT <= v <= MAX_INT:
        raise ValidationFailed(
            "bad_value", f"integer beyond ±2**53 ({str(v)[:30]}…)", _path(path, where)
        )
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValidationFailed("bad_value", f"{v} is not a finite number", _path(path, where))
        if abs(v) > MAX_FLOAT:
            raise ValidationFailed("bad_value", f"{v:g} beyond ±{MAX_FLOAT:g}", _path(path, where))
    if isinstance(v, str) and has_lone_surrogate(v):  # a str subclass
        raise ValidationFailed(
            "bad_text", "lone UTF-16 surrogate (not encodable)", _path(path, where)
        )
    if isinstance(v, dict | list):  # a subclass: walk it the slow way
        for k, x in v.items() if isinstance(v, dict) else enumerate(v):
            if isinstance(k, str) and has_lone_surrogate(k):
                raise ValidationFailed(
                    "bad_text", "lone UTF-16 surrogate in a key", _path(path, where)
                )
            check_value(x, _path(path, (where, k)))


def _path(path: str, where: Any) -> str:
    """``a.b.0`` from the ``(parent, key)`` links of :func:`check_value`."""
    keys: list[str] = []
    while where is not None:
        where, key = where
        keys.append(str(key))
    return ".".join([path] * bool(path) + keys[::-1])


def check_types(model: type[BaseModel], data: dict[str, Any], path: str = "") -> None:
    """Refuses any field of ``data`` whose type is not its declared one (no coercion)."""
    for name, info in model.model_fields.items():
        if name in data:
            _check(info.annotation, data[name], f"{path}.{name}" if path else name)


def _wrong(expected: str, value: Any, where: str) -> ValidationFailed:
    return ValidationFailed("wrong_type", f"expected {expected}, got {type(value).__name__}", where)


@functools.cache
def _shape(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    """``get_origin`` and ``get_args`` of a field's annotation, once per annotation (not once
    per field of every event)."""
    return typing.get_origin(annotation), typing.get_args(annotation)


def _check(annotation: Any, value: Any, where: str) -> None:
    origin, args = _shape(annotation)
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
