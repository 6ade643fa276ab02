"""Input patterns match the whole value: ``$`` alone lets a trailing newline through."""

from __future__ import annotations

import pytest

from rules.spec import version_key
from schemas.durations import is_deadline
from schemas.validation.plate import is_valid_plate
from streams.api.bodies import REGION_PREFIX, USCC


def test_a_trailing_newline_is_not_part_of_a_valid_value() -> None:
    assert is_valid_plate("浙A12345")
    assert not is_valid_plate("浙A12345\n")
    assert is_deadline("3wd")
    assert not is_deadline("3wd\n")
    assert REGION_PREFIX.fullmatch("3301")
    assert not REGION_PREFIX.fullmatch("3301\n")
    assert USCC.fullmatch("91330106YCE778TP1L")
    assert not USCC.fullmatch("91330106YCE778TP1L\n")
    version_key("1.2.0")
    with pytest.raises(ValueError, match="semantic version"):
        version_key("1.2.0\n")
