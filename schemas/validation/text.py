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
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


def clean_optional(text: str | None) -> str | None:
    """Like :func:`clean_text`, and an empty result becomes ``None`` (absent, not blank)."""
    if text is None:
        return None
    cleaned = clean_text(text)
    return cleaned or None
