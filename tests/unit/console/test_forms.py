"""What people type: refused with a message naming the field, never passed on as it came."""

from __future__ import annotations

import doctest

import pytest

from console import forms, labels
from console.forms import FormError, SilenceForm, WarningFilter, parse
from console.pages import warnings
from schemas.records import Reason
from tests.unit.sinks.factories import make_alert


@pytest.mark.parametrize("module", [forms, labels, warnings])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize(
    ("field", "typed"),
    [
        ("rule", "<script>alert(1)</script>"),
        ("region", "' OR 1=1 --"),
        ("level", "crimson"),
        ("source", "x" * 101),
        ("model", "a b"),
    ],
)
def test_hostile_filters_are_refused_by_name(field: str, typed: str) -> None:
    with pytest.raises(FormError, match=forms.FIELD_NAMES[field]):
        parse(WarningFilter, {field: typed})


def test_filters_pass_to_the_api_only_what_it_takes() -> None:
    f = parse(
        WarningFilter, {"level": "red", "state": "new", "rule": "food", "model": "", "x": "1"}
    )
    assert f.api_params() == {"level": "red", "state": "new"}
    rule_hit = make_alert(
        1, reasons=[Reason(kind="rule", id="complaints.food_poisoning", version="1.0.0")]
    )
    assert warnings.keep(rule_hit, f)
    assert not warnings.keep(make_alert(2), f)
    by_model = parse(WarningFilter, {"model": "complaint"})
    assert not warnings.keep(rule_hit, by_model)


@pytest.mark.parametrize(
    ("form", "why"),
    [
        ({"reason": "维护", "hours": "two"}, "时长"),
        ({"reason": " ", "hours": "2"}, "原因"),
        ({"reason": "维护窗口", "hours": "0"}, "时长"),
        ({"reason": "维护窗口", "hours": "nan"}, "时长"),
        ({"reason": "维护窗口", "hours": "2", "scope": "everything"}, "范围"),
    ],
)
def test_a_bad_silence_is_refused_with_the_field(form: dict[str, str], why: str) -> None:
    with pytest.raises(FormError, match=why):
        parse(SilenceForm, form)


def test_a_silence_reason_is_kept_as_typed() -> None:
    typed = "<script>alert('x')</script>' OR 1=1 --"
    assert parse(SilenceForm, {"reason": typed, "hours": "2"}).reason == typed
