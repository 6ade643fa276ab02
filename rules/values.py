"""Checks a rule's text can fail that CEL cannot see: values a field never takes, misspellings.

``event.outcome == "failed"`` compiles and runs — it is just never true, because inspection
outcomes are ``pass``/``fail``/…; a rule that can never fire validated. Fields whose type is an
enum (or a ``Literal``) have a closed set of values, so a string compared with one of them
(``==``, ``!=``, ``in [...]``) is checked against that set here, with the nearest value
suggested, as is a misspelt field name (``event.outcom`` → "did you mean 'outcome'?").
"""

from __future__ import annotations

import difflib
import enum
import re
import typing

from rules.sources import field_types

if typing.TYPE_CHECKING:
    from collections.abc import Iterable

_FIELD = r"event\.([A-Za-z_][A-Za-z0-9_]*)"
_STRING = r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\''
_COMPARED = re.compile(rf"{_FIELD}\s*(?:==|!=)\s*(?:{_STRING})")
_COMPARED_BACK = re.compile(rf"(?:{_STRING})\s*(?:==|!=)\s*{_FIELD}")
_IN_LIST = re.compile(rf"{_FIELD}\s+in\s+\[([^\]]*)\]")
_LIST_ITEM = re.compile(_STRING)


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the nearest choice, or "" if none is near.

    >>> did_you_mean("outcom", ["outcome", "uscc"])
    " (did you mean 'outcome'?)"
    >>> did_you_mean("zzz", ["outcome"])
    ''
    """
    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def allowed_values(source: str, field: str) -> frozenset[str] | None:
    """The values a field can take when its type is an enum or a Literal of strings; else None."""
    annotation = field_types(source).get(field)
    if annotation is None:
        return None
    values: set[str] = set()
    for arg in _union_members(annotation):
        if isinstance(arg, type) and issubclass(arg, enum.Enum):
            values |= {str(m.value) for m in arg}
        elif typing.get_origin(arg) is typing.Literal:
            values |= {str(v) for v in typing.get_args(arg)}
        elif arg is type(None):
            continue
        else:
            return None  # a free value among the members: nothing to check against
    return frozenset(values) or None


def _union_members(annotation: object) -> tuple[object, ...]:
    args = typing.get_args(annotation)
    if args and typing.get_origin(annotation) is not typing.Literal:
        origin = typing.get_origin(annotation)
        if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
            return args
    return (annotation,)


def value_problems(expression: str, source: str) -> list[str]:
    """Each string compared with an enum-like field that the field never takes.

    >>> print(*value_problems('event.outcome == "failed"', "inspections"))
    `event.outcome == "failed"`: inspections events' outcome is never 'failed' (did you mean 'fail'?); it is one of: fail, pass, rectify
    """
    found: list[tuple[str, str, str]] = []
    for m in _COMPARED.finditer(expression):
        found.append((m.group(0), m.group(1), _literal(m.group(2), m.group(3))))
    for m in _COMPARED_BACK.finditer(expression):
        found.append((m.group(0), m.group(3), _literal(m.group(1), m.group(2))))
    for m in _IN_LIST.finditer(expression):
        for item in _LIST_ITEM.finditer(m.group(2)):
            found.append((m.group(0), m.group(1), _literal(item.group(1), item.group(2))))
    problems = []
    for text, field, value in found:
        allowed = allowed_values(source, field)
        if allowed is None or value in allowed:
            continue
        problems.append(
            f"`{text}`: {source} events' {field} is never {value!r}"
            f"{did_you_mean(value, allowed)}; it is one of: {', '.join(sorted(allowed))}"
        )
    return problems


def _literal(double: str | None, single: str | None) -> str:
    return double if double is not None else (single or "")
