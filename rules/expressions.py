"""Static reading of CEL conditions: which event fields they touch, and their boolean parts.

The ``cel`` package reports only top-level variables (``event``), not the fields under it, so
the compiler reads field paths from the source text itself (string literals blanked first). The
paths serve twice: load-time checks against the source's schema, and each hit's ``values``,
the "why" a risk-centre officer reads.

>>> event_paths('event.outcome == "fail" && event.metrics.pressure > 1.0')
('metrics.pressure', 'outcome')
>>> event_paths('event.violations.exists(v, v.severity == "critical")')
('violations',)
>>> split_boolean('event.a == "x && y" && (event.b > 1 || event.c)')
['event.a == "x && y"', 'event.b > 1', 'event.c']
"""

from __future__ import annotations

import re

_STRING = re.compile(
    r"""[rRbB]{0,2}(\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')"""
)
_PATH = re.compile(r"\bevent((?:\s*\.\s*[A-Za-z_]\w*)+)(\s*\()?")
_BOUND = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")


def blank_strings(expression: str) -> str:
    """The expression with every string literal's content replaced by spaces (same length)."""
    return _STRING.sub(lambda m: '"' + " " * (len(m.group(0)) - 2) + '"', expression)


def event_path_segments(expression: str) -> list[tuple[str, ...]]:
    """Every ``event.a.b`` chain as segments; a trailing method call is not a field."""
    found = []
    for match in _PATH.finditer(blank_strings(expression)):
        segments = tuple(s.strip() for s in match.group(1).split(".") if s.strip())
        if match.group(2):  # event.text.contains(...): "contains" is a method
            segments = segments[:-1]
        if segments:
            found.append(segments)
    return found


def event_paths(expression: str, depth: int = 2) -> tuple[str, ...]:
    """Sorted distinct dotted paths under ``event`` (at most ``depth`` segments deep)."""
    return tuple(sorted({".".join(s[:depth]) for s in event_path_segments(expression)}))


def bound_names(expression: str) -> frozenset[str]:
    """Names bound by comprehension macros (``exists(v, ...)``): not free variables."""
    return frozenset(_BOUND.findall(blank_strings(expression)))


def split_boolean(expression: str) -> list[str]:
    """The operands of top-level ``&&``/``||``, recursing into fully parenthesised operands.

    CEL short-circuits (``false && error`` is ``false``), so a type error hiding behind a
    guard never shows on one probe; probing every operand on its own finds it.
    """
    text = expression.strip()
    blanked = blank_strings(text)
    if _wrapped(blanked):
        return split_boolean(text[1:-1])
    parts, depth, start, i = [], 0, 0, 0
    while i < len(blanked):
        ch = blanked[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and blanked[i : i + 2] in ("&&", "||"):
            parts.append(text[start:i])
            start = i + 2
            i += 1
        i += 1
    parts.append(text[start:])
    if len(parts) == 1:
        return [text]
    return [p for part in parts for p in split_boolean(part) if p.strip()]


def _wrapped(blanked: str) -> bool:
    if not (blanked.startswith("(") and blanked.endswith(")")):
        return False
    depth = 0
    for i, ch in enumerate(blanked):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0 and i < len(blanked) - 1:
            return False
    return True
