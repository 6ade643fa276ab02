"""The table codec writes the JSON the standard library writes and reads (changelogs stay
readable across the change), including the journal's shapes and Chinese text."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from streams.codec import OrjsonCodec, register

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_round_trips_and_agrees_with_the_standard_library(value: object) -> None:
    codec = OrjsonCodec()
    raw = codec.dumps(value)
    assert codec.loads(raw) == value
    assert json.loads(raw) == value  # what we write, json reads
    assert codec.loads(json.dumps(value).encode()) == value  # what json wrote, we read


def test_journal_value_with_chinese_text() -> None:
    value = {"~journal": [{"title": "电梯监测终端离线", "n": 1.5}, [["equipment:0", 3, None, []]]]}
    codec = OrjsonCodec()
    assert codec.loads(codec.dumps(value)) == value
    assert "电梯".encode() in codec.dumps(value)  # UTF-8, not \\u escapes


def test_register_is_idempotent() -> None:
    assert register() == register() == "riskloop-json"
