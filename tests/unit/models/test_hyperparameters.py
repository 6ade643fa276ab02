"""Hyperparameters are declared once, in ``__init__``, and still checked like a publication's JSON."""

from __future__ import annotations

import inspect

import pytest

from models.equipment import EquipmentAnomaly
from models.errors import ModelError
from models.factories import create, factories
from models.hyperparameters import params_model
from models.trucks import TruckBehaviour
from models.unit_anomaly import OPTIONAL


@pytest.mark.parametrize("factory", factories(), ids=lambda f: f.name)
def test_the_checked_parameters_are_the_signature(factory) -> None:
    signature = inspect.signature(factory.build)
    declared = {
        name: p.default
        for name, p in signature.parameters.items()
        if p.kind is p.KEYWORD_ONLY and name not in {"name", "version"}
    }
    assert list(factory.params_model.model_fields) == list(declared)
    assert factory.params_model is params_model(factory.build)
    model = create(factory.name)
    assert model.params == factory.params_model().model_dump(mode="json")
    assert model.params == {k: list(v) if isinstance(v, tuple) else v for k, v in declared.items()}


def test_explicit_defaults_hash_like_no_params() -> None:
    """The content hash covers every declared parameter, given or defaulted."""
    assert EquipmentAnomaly(q=0.99, warmup=400).content_hash == EquipmentAnomaly().content_hash
    assert EquipmentAnomaly(q=0.98).content_hash != EquipmentAnomaly().content_hash


@pytest.mark.parametrize(
    ("build", "said"),
    [
        (lambda: EquipmentAnomaly(q=1.5), "q: Input should be less than 1"),
        (lambda: EquipmentAnomaly(span=0), "span: Input should be greater than or equal to 1"),
        (lambda: TruckBehaviour(max_kmh=-3.0), "max_kmh: Input should be greater than 0"),
        (lambda: EquipmentAnomaly(detector="forest"), "detector: Input should be 'mahalanobis'"),
    ],
)
def test_a_model_built_with_a_wrong_value_names_it_in_one_line(build, said) -> None:
    with pytest.raises(ModelError) as info:
        build()
    message = str(info.value)
    assert message.startswith("bad params for model factory ")
    assert said in message
    assert "\n" not in message
    assert "errors.pydantic.dev" not in message


def test_publications_are_refused_for_unknown_names_and_wrong_types() -> None:
    with pytest.raises(
        ModelError, match=r"hold_seconds: no such field \(the fields are: .*stop_kmh"
    ):
        create("truck-behaviour", {"hold_seconds": 10})  # an equipment setting, not a truck's
    with pytest.raises(ModelError, match="min_labels: Input should be a valid integer"):
        create("inspection-risk", {"min_labels": "many"})
    with pytest.raises(ModelError, match="urgent_labels: Input should be a valid tuple"):
        create("complaint-classifier", {"urgent_labels": "urgent"})


def test_a_setting_a_subclass_does_not_declare_stays_off() -> None:
    """Trucks offer none of the optional anomaly settings: they read as off, as in old snapshots."""
    truck, lift = TruckBehaviour(), EquipmentAnomaly(hold_seconds=10.0)
    assert not OPTIONAL & set(truck.params)
    assert not any(hasattr(truck, k) for k in OPTIONAL)
    assert set(lift.params) >= OPTIONAL
    assert lift.hold_seconds == 10.0
