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
>>> nesting_depth('(event.a[0] + (1))'), comprehension_depth('[1].all(x, [2].exists(y, y > x))')
(2, 2)
>>> matches_patterns('event.a.matches("^[0-9]+$") && matches(event.b, event.c)')
['^[0-9]+$', None]
"""

from __future__ import annotations

import ast
import re
import warnings

_STRING = re.compile(
    r"""[rRbB]{0,2}(\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')"""
)
_PATH = re.compile(r"\bevent((?:\s*\.\s*[A-Za-z_]\w*)+)(\s*\()?")
_BOUND = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")
_MACRO = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\($")
_MATCHES = re.compile(r"\bmatches\s*\(")
_EVENT_USE = re.compile(r"(\.\s*)?\bevent\b(\s*\.\s*([A-Za-z_]\w*)(\s*\()?)?")


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


def event_fields(expression: str) -> frozenset[str] | None:
    """The event's top-level fields the expression can read, or None when it may read more.

    The rule engine converts only these into CEL values (converting a field costs ~3 µs, a
    whole event 30–80 µs, running a condition ~1 µs). So every use of ``event`` must be a
    field access ``event.<field>``; anything else — ``event`` alone (``size(event)``,
    ``event["x"]``), a macro or method on it (``event.all(k, …)``), ``x.event``, ``event``
    bound by a macro — answers None and the engine converts the whole event.

    >>> sorted(event_fields('event.outcome == "fail" && has(event.metrics.pressure)'))
    ['metrics', 'outcome']
    >>> event_fields('size(event) > 3'), event_fields('event["outcome"] == "x"')
    (None, None)
    >>> event_fields('event.exists(k, k == "a")'), event_fields('"event.x" == "y"')
    (None, frozenset())
    """
    if "event" in bound_names(expression):
        return None
    heads: set[str] = set()
    for match in _EVENT_USE.finditer(blank_strings(expression)):
        if match.group(1) or not match.group(3) or match.group(4):
            return None
        heads.add(match.group(3))
    return frozenset(heads)


_KEY_USE = re.compile(r"\s*\.\s*([A-Za-z_]\w*)(\s*\()?")


def event_keys(expression: str) -> dict[str, frozenset[str] | None] | None:
    """Per event field the expression reads (:func:`event_fields`), the keys it reads of it
    when the field is a map: ``event.metrics.pressure`` reads key ``pressure`` only, so the
    engine converts only that entry of ``metrics`` (an elevator reading's four metrics were
    the costliest part of its CEL values, and no rule of an elevator reads them). None for a
    field used otherwise (compared, indexed, a method or macro called on it, ``has()`` of it):
    the whole value.

    >>> event_keys('has(event.metrics.pressure) && event.metrics.pressure > event.rated.pressure')
    {'metrics': frozenset({'pressure'}), 'rated': frozenset({'pressure'})}
    >>> event_keys('event.text.contains("x") || event.m["k"] > 1 || event.m.k > 1')
    {'text': None, 'm': None}
    """
    if event_fields(expression) is None:
        return None
    blanked = blank_strings(expression)
    keys: dict[str, frozenset[str] | None] = {}
    for match in _EVENT_USE.finditer(blanked):
        field = match.group(3)
        key = _KEY_USE.match(blanked, match.end())
        if key is None or key.group(2):
            keys[field] = None
        elif field not in keys or keys[field] is not None:
            keys[field] = (keys.get(field) or frozenset()) | {key.group(1)}
    return keys


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
    if wrapped(blanked):
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


def wrapped(blanked: str) -> bool:
    """Whether one pair of parentheses encloses the whole (string-blanked) text."""
    if not (blanked.startswith("(") and blanked.endswith(")")):
        return False
    depth = 0
    for i, ch in enumerate(blanked):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0 and i < len(blanked) - 1:
            return False
    return True


def nesting_depth(expression: str) -> int:
    """The deepest bracket nesting (``()``, ``[]``, ``{}``) outside string literals.

    The CEL parser and evaluator recurse once per level, so depth is what a hostile condition
    spends stack and time on; counting brackets bounds it before ``cel.compile`` ever runs.
    """
    depth = deepest = 0
    for ch in blank_strings(expression):
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
    return deepest


def comprehension_depth(expression: str) -> int:
    """How many comprehension macros (all/exists/exists_one/map/filter) nest inside each other.

    Each level multiplies the work by the length of the list it walks: seven levels over short
    literal lists kept the event loop busy for half a minute, in under 600 bytes. The ``cel``
    package gives no syntax tree, so the macros are found in the text (strings blanked).
    """
    blanked = blank_strings(expression)
    stack: list[bool] = []  # per open bracket: does it open a macro's arguments?
    open_macros = deepest = 0
    for i, ch in enumerate(blanked):
        if ch in "([{":
            is_macro = ch == "(" and _MACRO.search(blanked[: i + 1]) is not None
            stack.append(is_macro)
            open_macros += is_macro
            deepest = max(deepest, open_macros)
        elif ch in ")]}" and stack:
            open_macros -= stack.pop()
    return deepest


def matches_patterns(expression: str) -> list[str | None]:
    """The regex of every ``matches()`` call; ``None`` where it is not a string literal.

    ``matches`` compiles its pattern on every call (the ``cel`` package keeps no cache), so
    the compiler must see each pattern to bound its cost; a pattern read from the event
    cannot be bounded and is refused.
    """
    blanked = blank_strings(expression)
    found: list[str | None] = []
    for match in _MATCHES.finditer(blanked):
        start = match.end()
        depth, end, commas = 1, start, [start - 1]
        while end < len(blanked) and depth:
            ch = blanked[end]
            depth += ch in "([{"
            depth -= ch in ")]}"
            if ch == "," and depth == 1:
                commas.append(end)
            end += 1
        last = expression[commas[-1] + 1 : end - 1].strip()
        found.append(_string_literal(last))
    return found


def _string_literal(text: str) -> str | None:
    if not _STRING.fullmatch(text) or text[:1] in "bB":
        return None
    try:
        with warnings.catch_warnings():  # CEL escapes Python does not know are not our concern
            warnings.simplefilter("ignore")
            value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None
