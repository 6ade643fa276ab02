"""The cost model of a rule pack: what a pack may ask of a worker, checked before it runs.

A pack arrives from the control topic, so its author is a sender like any other: one hostile
or careless pack must not stall the event loop. Each limit bounds one way work grows, and each
is counted (bytes, rules, characters, brackets, nested macros, regex size), never timed, so
validation gives the same answer on every machine. What static limits cannot see (a slow branch
behind a ternary that no probe takes) the engine's per-rule time budget catches at run time.

>>> expression_problems('[1].all(a, [2].all(b, [3].all(c, a < b + c)))')
['comprehensions nest 3 deep (all/exists/map/filter inside each other); at most 2']
>>> regex_problems(r"\\w{50}")
['regex `\\\\w{50}` repeats a Unicode class 50 times (at most 4); use an ASCII class like [0-9A-Z]{18}']
"""

from __future__ import annotations

import re

import yaml

from rules.expressions import comprehension_depth, matches_patterns, nesting_depth

MAX_PACK_BYTES = 256 * 1024
"""A pack's YAML text; the shipped packs are under 8 KiB."""
MAX_RULES = 100
"""Rules per pack: each runs on every event of its sources."""
MAX_YAML_NODES = 50_000
"""Scalars, lists and mappings of a pack once aliases are expanded (a rule is ~100)."""
MAX_EXPRESSION_CHARS = 1000
"""One CEL expression (condition, clear, value, group key, step condition)."""
MAX_NESTING = 12
"""Bracket depth of one expression."""
MAX_COMPREHENSION_DEPTH = 2
"""Comprehension macros inside each other: ``list.exists(v, keywords.exists(k, ...))``."""
MAX_REGEX_CHARS = 200
MAX_REGEX_UNICODE_REPEAT = 4
"""Counted repetitions of a Unicode class (``\\w{4}``): each one is compiled out per event."""
MAX_REGEX_REPEAT = 1000
"""Counted repetitions of anything else (``[0-9]{18}``)."""

_UNICODE_CLASS = re.compile(r"\\[wWdDsSpP]|\.")
_COUNT = re.compile(r"\{(\d+)(?:,(\d*))?\}", re.ASCII)


def text_problems(text: str) -> list[str]:
    """Problems of a pack's raw text, found before YAML parsing spends anything on it."""
    size = len(text.encode("utf-8"))
    if size > MAX_PACK_BYTES:
        return [f"the pack is {size} bytes; at most {MAX_PACK_BYTES}"]
    return []


def yaml_problems(text: str) -> list[str]:
    """Aliases and merge keys (``<<: *x``) are bounded by what they expand to.

    An alias costs one line but stands for its whole anchor, and aliases of aliases multiply:
    1 MiB of merge keys held ~50,000 rules. The composed node graph shares aliased nodes, so
    counting the expanded size (memoised per node) is linear in the text. Malformed YAML is left
    to the parser, which reports it with a line number.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        size = _expanded_size(root, {}) if root is not None else 0
    except yaml.YAMLError:
        return []
    except RecursionError:  # nested past the parser's stack: no pack is
        return ["nested deeper than the YAML parser can follow; no rule pack is"]
    if size > MAX_YAML_NODES:
        return [
            f"the pack expands to {size} YAML nodes (an alias or merge key counts its anchor "
            f"each time it is used); at most {MAX_YAML_NODES}"
        ]
    return []


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = 1  # a recursive alias counts once instead of looping
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    memo[id(node)] = size
    return size


def expression_problems(expression: str) -> list[str]:
    """Why one CEL expression costs too much, or ``[]``; checked before ``cel.compile``."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        return [f"is {len(expression)} characters long; at most {MAX_EXPRESSION_CHARS}"]
    problems = []
    depth = nesting_depth(expression)
    if depth > MAX_NESTING:
        problems.append(f"brackets nest {depth} deep; at most {MAX_NESTING}")
    macros = comprehension_depth(expression)
    if macros > MAX_COMPREHENSION_DEPTH:
        problems.append(
            f"comprehensions nest {macros} deep (all/exists/map/filter inside each other); "
            f"at most {MAX_COMPREHENSION_DEPTH}"
        )
    for pattern in matches_patterns(expression):
        if pattern is None:
            problems.append("the pattern of matches() must be a string literal")
        else:
            problems.extend(regex_problems(pattern))
    return problems


def regex_problems(pattern: str) -> list[str]:
    """Why a ``matches()`` pattern costs too much to compile on every event, or ``[]``.

    The regex engine behind ``cel`` matches in linear time but compiles the pattern on each
    call, and the compiled size grows with counted repetitions: ``\\w{50}`` (Unicode word
    characters) takes ~25 ms per event, ``[0-9A-Z]{50}`` well under 1 ms. A repeated group
    that itself repeats multiplies the size, so nested quantifiers are refused outright.
    """
    if len(pattern) > MAX_REGEX_CHARS:
        return [f"regex is {len(pattern)} characters long; at most {MAX_REGEX_CHARS}"]
    problems = []
    if _nested_quantifier(pattern):
        problems.append(f"regex `{pattern}` repeats a group that repeats (nested quantifiers)")
    unicode_repeat = other_repeat = 0
    for match in _COUNT.finditer(pattern):
        times = max(int(match.group(1)), int(match.group(2) or 0))
        if _is_unicode(_last_atom(pattern[: match.start()])):
            unicode_repeat += times
        else:
            other_repeat += times
    if unicode_repeat > MAX_REGEX_UNICODE_REPEAT:
        problems.append(
            f"regex `{pattern}` repeats a Unicode class {unicode_repeat} times "
            f"(at most {MAX_REGEX_UNICODE_REPEAT}); use an ASCII class like [0-9A-Z]{{18}}"
        )
    if other_repeat > MAX_REGEX_REPEAT:
        problems.append(
            f"regex `{pattern}` has {other_repeat} counted repetitions; at most {MAX_REGEX_REPEAT}"
        )
    return problems


def _last_atom(before: str) -> str:
    """The atom a count applies to: a class ``[...]``, a group ``(...)``, ``\\p{Han}`` or one
    (escaped) character. Approximate on purpose: it errs towards calling an atom Unicode."""
    if before.endswith("]"):
        return before[before.rfind("[") :]
    if before.endswith(")"):
        depth = 0
        for i in range(len(before) - 1, -1, -1):
            depth += before[i] == ")"
            depth -= before[i] == "("
            if depth == 0:
                return before[i:]
        return before
    if before.endswith("}"):
        start = before.rfind("\\")
        return before[start:] if start >= 0 else before[-1:]
    return before[-2:] if before[-2:-1] == "\\" else before[-1:]


def _is_unicode(atom: str) -> bool:
    if atom.startswith("["):
        return re.search(r"\\[wWdDsSpP]", atom) is not None
    return _UNICODE_CLASS.search(atom) is not None


def _nested_quantifier(pattern: str) -> bool:
    """A group containing a quantifier, itself followed by a quantifier: ``(a+)+``, ``(\\d{2})*``."""
    stack: list[bool] = []  # per open group: has a quantifier inside
    i, quantified_inside = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":  # a class: skip to its end, quantifier characters inside are literal
            j = pattern.find("]", i + 2)
            i = len(pattern) if j < 0 else j + 1
            continue
        if ch == "(":
            stack.append(False)
        elif ch == ")" and stack:
            quantified_inside = stack.pop()
            nxt = pattern[i + 1 : i + 2]
            if quantified_inside and (nxt in ("*", "+", "?") or _COUNT.match(pattern, i + 1)):
                return True
            if stack and quantified_inside:
                stack[-1] = True
        elif stack and (
            (ch in "*+?" and i > 0 and pattern[i - 1] != "(") or _COUNT.match(pattern, i)
        ):
            stack[-1] = True
        i += 1
    return False
