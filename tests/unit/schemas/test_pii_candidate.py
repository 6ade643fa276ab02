"""mask_pii's first scan (``_CANDIDATE``) only skips texts no masking rule would change: on
any text it gives what the seven rules give applied one after the other."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.validation import pii
from schemas.validation.pii import mask_pii

_ALPHABET = st.sampled_from(
    [*"0123456789" * 4, *" -()+@._xXa", "\u0661", "\uff11", "电", "\u3000", "\n"]
)


def _seven_rules(text: str) -> str:
    for pattern, replace in pii._RULES:
        text = pattern.sub(replace, text)
    return text


@settings(max_examples=2_000, deadline=None)
@given(st.text(_ALPHABET, max_size=30))
def test_mask_pii_is_the_seven_rules(text: str) -> None:
    assert mask_pii(text) == _seven_rules(text)


def test_the_shortest_masked_numbers_are_candidates() -> None:
    for text in ["(010) 2345 6789", "010-234-5678", "400 123 4567", "a@b.cn", "13812345678"]:
        assert pii._CANDIDATE.search(text) is not None, text
        assert mask_pii(text) != text


def test_a_text_without_a_candidate_is_given_back_as_it_is() -> None:
    text = "杭州某某公司(0006)就餐后出现呕吐,电话 123-4567"
    assert pii._CANDIDATE.search(text) is None
    assert mask_pii(text) is text
    assert _seven_rules(text) == text
