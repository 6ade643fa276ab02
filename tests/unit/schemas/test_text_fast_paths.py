"""The shortcuts of schemas/validation/text.py give what the long way gives: printable text
holds no invisible character, and printable ASCII is its own NFKC form."""

from __future__ import annotations

import re
import sys
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.validation.text import _INVISIBLE, clean_text, identifier_problem

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ALPHABET = st.sampled_from(list("ab 1-\t\n\r\x00\x7f\x85\u3000\u200b\uff21\u00a0\ufeff名\u2028"))


def _clean_long(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


def test_no_printable_character_is_invisible() -> None:
    printable_invisible = [
        hex(i)
        for i in range(sys.maxunicode + 1)
        if chr(i).isprintable() and unicodedata.category(chr(i)) in _INVISIBLE
    ]
    assert printable_invisible == []


def test_printable_ascii_is_its_own_nfkc_form() -> None:
    printable = "".join(chr(i) for i in range(128) if chr(i).isprintable())
    assert len(printable) == 95
    assert unicodedata.normalize("NFKC", printable) == printable


@settings(max_examples=400, deadline=None)
@given(st.text(_ALPHABET, max_size=12))
def test_clean_text_is_the_long_way(text: str) -> None:
    assert clean_text(text) == _clean_long(text)


@settings(max_examples=400, deadline=None)
@given(st.text(_ALPHABET, max_size=12))
def test_an_identifier_problem_is_the_first_invisible_character(text: str) -> None:
    invisible = [i for i, ch in enumerate(text) if unicodedata.category(ch) in _INVISIBLE]
    problem = identifier_problem(text)
    if invisible:
        assert problem is not None
        assert problem.endswith(f"at position {invisible[0]}")
    else:
        assert problem is None
