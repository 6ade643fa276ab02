"""The one-pass shape check (schemas/validation/shape.py) against the three exact checks it
stands in for: whatever it accepts, they accept and structure the same way; it takes the
common records (or it would save nothing); every refusal is left to them."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from schemas.errors import ValidationFailed
from schemas.ingest import _structure
from schemas.record_specs import SOURCES
from schemas.validation.shape import structured
from schemas.validation.strict import MAX_METRICS, check_types, check_value

from .conftest import good

_SOURCES = ["inspections", "complaints", "equipment", "trucks"]
_VALUES: list[Any] = [
    None,
    "",
    "5",
    5,
    5.5,
    True,
    False,
    2**53,
    2**53 + 1,
    -(2**53) - 1,
    10**400,
    1e15,
    1e16,
    float("nan"),
    float("inf"),
    [],
    {},
    ["a"],
    [1],
    {"a": 1},
    {"a": 1.5},
    {"a": "b"},
    {"\ud800": 1.0},
    {f"m{i}": 1.0 for i in range(MAX_METRICS + 1)},
    "\ud800",
    "a\u200bb",
    "2024-05-01T19:30:00",
    [{"code": "c", "severity": "minor"}],
    [{"code": "c", "severity": "minor", "extra": 1}],
    [{"code": None, "severity": "minor"}],
    [{"code": "c", "severity": "minor", "description": None}],
    [{"code": 1, "severity": "minor"}],
    ["not an object"],
]
_KEYS = ["zz", "metrics", "units", "rated", "violations", "lat", "score", "loaded", "subject"]


def _exact(model: Any, data: dict[str, Any]) -> dict[str, Any] | str:
    """What the three exact checks make of ``data``: the structured fields, or the reason."""
    try:
        check_value(data, "")
        out = _structure(model, data)
        check_types(model, out)
    except ValidationFailed as exc:
        return exc.reason
    return out


def _spoilt(rng: random.Random) -> tuple[str, dict[str, Any]]:
    source = rng.choice(_SOURCES)
    data = json.loads(json.dumps(good(source)))
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if roll < 0.5:
            data[rng.choice(list(data))] = rng.choice(_VALUES)
        elif roll < 0.7:
            data.pop(rng.choice(list(data)), None)
        else:
            data[rng.choice(_KEYS)] = rng.choice(_VALUES)
    return source, data


@pytest.mark.parametrize("seed", range(4))
def test_what_it_accepts_the_exact_checks_accept_the_same(seed: int) -> None:
    rng = random.Random(seed)
    accepted = refused = 0
    for _ in range(1_500):
        source, data = _spoilt(rng)
        model = SOURCES[source]
        fast = structured(model, data)
        exact = _exact(model, data)
        if fast is None:
            refused += isinstance(exact, str)
        else:
            assert fast == exact, (source, data)
            assert list(fast) == list(exact)  # the same order: the normalisers read it so
            accepted += 1
    assert accepted > 50
    assert refused > 500  # the corpus does reach the refusals it leaves to the exact checks


@pytest.mark.parametrize("source", _SOURCES)
def test_a_good_record_takes_the_one_pass(source: str) -> None:
    data = json.loads(json.dumps(good(source)))
    fast = structured(SOURCES[source], data)
    assert fast is not None
    assert fast == _exact(SOURCES[source], data)


def test_a_null_in_a_defaulted_field_means_absent_and_in_a_nullable_one_stays() -> None:
    data = {**good("trucks"), "loaded": None, "speed_kmh": None}
    fast = structured(SOURCES["trucks"], data)
    assert fast is not None
    assert fast["loaded"] is None  # nullable: kept as null
    data = {**good("equipment"), "trapped": None}
    fast = structured(SOURCES["equipment"], data)
    assert fast is not None
    assert "trapped" not in fast  # not nullable, defaulted: absent


@pytest.mark.parametrize(
    ("source", "patch"),
    [
        ("equipment", {"door_faults": True}),
        ("equipment", {"door_faults": 2**53 + 1}),
        ("trucks", {"speed_kmh": float("nan")}),
        ("trucks", {"lat": 1e16}),
        ("complaints", {"text": "a\ud800"}),
        ("equipment", {"metrics": {"a\udfff": 1.0}}),
        ("inspections", {"uscc": None}),
        ("inspections", {"unknown": 1}),
    ],
)
def test_a_refusal_is_left_to_the_exact_checks(source: str, patch: dict[str, Any]) -> None:
    data = {**good(source), **patch}
    assert structured(SOURCES[source], data) is None
    assert isinstance(_exact(SOURCES[source], data), str)
