"""Which rules an event cannot concern, told from one field before any CEL runs.

Most conditions start from the kind of record they are about: ``event.kind == "overspeed" &&
…``, ``event.equipment_type == "elevator" && …``. When such an equality is a top-level operand
of ``&&`` and the event's field holds another string (or null), the condition is false whatever
the rest says: CEL's ``&&`` is false as soon as one side is, even when the other errs (its
commutative error rule), so not running it changes neither hits nor the error counts. A rule
that does nothing on a false condition (plain, aggregate, sequence; an absence rule whose clear
is false as well) can then be left out, and the fields only it reads need not become CEL
values — building the activation was the larger part of a rule evaluation (issue #16).

Read from the expression's text at load time (the ``cel`` package gives no syntax tree), and
only in the one shape that is certain: ``event.<field> == "<literal without escapes>"`` (either
way round) as a whole top-level operand of a conjunction with no ``||`` or ``?`` beside it.
Anything else has no gate and always runs.

>>> equality_gate('event.kind == "overspeed" && event.max_speed_kmh > 60')
('kind', frozenset({'overspeed'}))
>>> equality_gate('event.kind == "a" || event.kind == "b"') is None
True
>>> Gate("kind", frozenset({"a"})).closed({"kind": "b"}), Gate("kind", frozenset({"a"})).closed({})
(True, False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rules.expressions import blank_strings, wrapped

_FIELD = r"event\s*\.\s*([A-Za-z_]\w*)"
_LITERAL = r"\"([^\"\\\n]*)\"|'([^'\\\n]*)'"
_EQUALS = re.compile(rf"^(?:{_FIELD}\s*==\s*(?:{_LITERAL})|(?:{_LITERAL})\s*==\s*{_FIELD})$")


@dataclass(frozen=True, slots=True)
class Gate:
    """A rule is closed to an event whose ``field`` is present and holds a string (or null)
    that is none of ``values``."""

    field: str
    values: frozenset[str]

    def closed(self, event: dict[str, Any]) -> bool:
        """Whether the gated expressions are all false on ``event`` (a missing field: unknown,
        so open — reading it is an error the engine counts)."""
        if self.field not in event:
            return False
        value = event[self.field]
        return (value is None or isinstance(value, str)) and value not in self.values


def equality_gate(expression: str) -> tuple[str, frozenset[str]] | None:
    """``(field, {literal})`` when ``expression`` is false unless ``event.field == literal``."""
    blanked = blank_strings(expression)
    start, end = _unwrapped(blanked, 0, len(blanked))
    parts: list[tuple[int, int]] = []
    depth, begin, i = 0, start, start
    while i < end:
        ch = blanked[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and (blanked[i : i + 2] == "||" or ch == "?"):
            return None
        elif depth == 0 and blanked[i : i + 2] == "&&":
            parts.append((begin, i))
            begin = i + 2
            i += 1
        i += 1
    parts.append((begin, end))
    for part in parts:
        a, b = _unwrapped(blanked, *part)
        match = _EQUALS.match(expression[a:b])
        if match is not None:
            field = match.group(1) or match.group(6)
            literal = next(g for g in match.group(2, 3, 4, 5) if g is not None)
            return field, frozenset({literal})
    return None


def rule_gate(kind: str, condition: str, clear: str | None) -> Gate | None:
    """The gate of a rule of window ``kind``: None when an event its condition refuses may
    still change something (a duration window learns from every event; an absence window from
    its clear condition, which must then be gated on the same field too)."""
    if kind in ("plain", "aggregate", "sequence"):
        found = equality_gate(condition)
    elif kind == "absence":
        found = equality_gate(condition)
        if clear is not None and found is not None:
            cleared = equality_gate(clear)
            if cleared is None or cleared[0] != found[0]:
                return None
            found = (found[0], found[1] | cleared[1])
    else:
        return None
    return None if found is None else Gate(*found)


def _unwrapped(blanked: str, start: int, end: int) -> tuple[int, int]:
    """``start``, ``end`` moved inwards past white space and enclosing parentheses."""
    while True:
        while start < end and blanked[start].isspace():
            start += 1
        while end > start and blanked[end - 1].isspace():
            end -= 1
        if not wrapped(blanked[start:end]):
            return start, end
        start, end = start + 1, end - 1
