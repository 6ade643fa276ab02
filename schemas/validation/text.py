"""Text normalisation: one form for the same text, whatever keyboard typed it.

NFKC folds full-width letters, digits and punctuation to their ASCII forms (``１２３４５`` →
``12345``, ``（`` → ``(``) and the ideographic space U+3000 to a plain space; trimming then
removes the scraped whitespace hotline systems leave around messages. Control characters other
than newline and tab are dropped: they break logs and terminals and carry no meaning.

>>> clean_text("\\u3000\\n\\t投诉：ＡＢＣ公司１２３\\u3000")
'投诉:ABC公司123'
>>> clean_text("a\\r\\nb\\x00c")
'a\\nbc'
"""

from __future__ import annotations

import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """NFKC, CRLF → LF, control characters removed, surrounding whitespace trimmed."""
    if text.isascii() and text.isprintable():  # nearly every id and code: NFKC keeps ASCII
        return text.strip()  # as it is, and printable ASCII holds no CR or control character
    text = unicodedata.normalize("NFKC", text)
    if text.isprintable():  # most prose and names: no CR, no control character to remove
        return text.strip()
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


def clean_optional(text: str | None) -> str | None:
    """Like :func:`clean_text`, and an empty result becomes ``None`` (absent, not blank)."""
    if text is None:
        return None
    cleaned = clean_text(text)
    return cleaned or None


MAX_ID_CHARS = 128
"""Longest identifier (event id, equipment code, task id, department…): keys, not prose."""

MAX_NAME_CHARS = 512
"""Longest name or short label (entity name, category, address, subject)."""

MAX_TEXT_CHARS = 20_000
"""Longest free text (a complaint's message, a violation description)."""

_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Control, format (zero-width, bidi), surrogate, private-use, unassigned, line/paragraph."""


def identifier_problem(text: str, max_chars: int = MAX_ID_CHARS) -> str | None:
    """Why ``text`` cannot be an identifier, or None.

    An identifier is compared byte for byte (dedup, keys, routing), so a character nobody can
    see would split one device into two keys, and stripping it would let two ids collide:
    such a value is refused, never repaired.

    >>> identifier_problem("31103301002020000001") is None
    True
    >>> identifier_problem("3110\\u200b3301")
    'invisible character U+200B at position 4'
    >>> identifier_problem("ev\\x00")
    'invisible character U+0000 at position 2'
    """
    if len(text) > max_chars:
        return f"{len(text)} characters, more than {max_chars}"
    if text.isprintable():  # no character of Cc, Cf, Cs, Co, Cn, Zl, Zp (nor Zs but " ")
        return None
    if text.isascii():  # one regex scan instead of a category per character
        found = _ASCII_INVISIBLE.search(text)
        return None if found is None else _invisible(found.group(), found.start())
    for i, ch in enumerate(text):
        if unicodedata.category(ch) in _INVISIBLE:
            return _invisible(ch, i)
    return None


_ASCII_INVISIBLE = re.compile(r"[\x00-\x1f\x7f]")
"""The ASCII characters in :data:`_INVISIBLE` (all of category Cc)."""


def _invisible(ch: str, i: int) -> str:
    return f"invisible character U+{ord(ch):04X} at position {i}"
