"""``bad_input``: a record that does not validate is one line naming where it was, not a page."""

from __future__ import annotations

import pytest

from loop.profile import EntityProfile
from schemas.errors import ConfigError
from streams.cli.common import bad_input


def test_a_validation_error_becomes_one_line_naming_the_place() -> None:
    with pytest.raises(ConfigError) as caught, bad_input("p.jsonl:3: not an entity profile"):
        EntityProfile.model_validate_json('{"uscc": 5}')
    message = str(caught.value)
    assert message.startswith("p.jsonl:3: not an entity profile (")
    assert "\n" not in message
    assert isinstance(caught.value.__cause__, ValueError)


def test_other_errors_pass_through_unchanged() -> None:
    with pytest.raises(KeyError), bad_input("anything"):
        raise KeyError("not a value error")


def test_a_valid_record_is_left_alone() -> None:
    with bad_input("never said"):
        value = int("42")
    assert value == 42
