"""Validation errors read as one line per problem, never pydantic's raw dump."""

from __future__ import annotations

import doctest

import pytest

from models.errors import ModelError
from models.factories import create
from schemas import problems


def test_doctests() -> None:
    assert doctest.testmod(problems).failed == 0


def test_bad_model_params_name_the_field_and_list_the_parameters() -> None:
    with pytest.raises(ModelError) as info:
        create("equipment-anomaly", {"q": "x", "zz": 3})
    message = str(info.value)
    assert "q: Input should be a valid number" in message
    assert "zz: no such field (the fields are:" in message
    assert " q," in message
    assert "errors.pydantic.dev" not in message
    assert "\n" not in message
