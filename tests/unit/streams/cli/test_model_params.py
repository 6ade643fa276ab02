"""`riskloop models params FACTORY` lists what a publication's PARAMS may set."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from models.factories import create, factories
from streams.cli import app


def test_every_parameter_of_a_factory_is_listed_with_its_range_and_default() -> None:
    result = CliRunner().invoke(app, ["models", "params", "equipment-anomaly", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in map(json.loads, result.output.splitlines())}
    assert rows["q"] == {"name": "q", "allowed": "number > 0.5, < 1.0", "default": 0.99}
    assert rows["accept_seconds"]["allowed"] == "number > 0, or null"
    assert rows["detector"]["allowed"] == '"mahalanobis" | "hst"'
    assert not {"name", "version"} & set(rows)  # identity, not hyperparameters
    # the defaults listed build the model as it is by default
    defaults = {name: row["default"] for name, row in rows.items()}
    assert create("equipment-anomaly", defaults).params == create("equipment-anomaly").params


def test_each_registered_factory_lists_its_parameters() -> None:
    for factory in factories():
        result = CliRunner().invoke(app, ["models", "params", factory.name])
        assert result.exit_code == 0, result.output
        assert all(name in result.output for name in factory.params_model.model_fields)


def test_an_unknown_factory_is_one_line_naming_the_registered_ones() -> None:
    result = CliRunner().invoke(app, ["models", "params", "nope"])
    assert result.exit_code == 1
    assert "no model factory 'nope'; registered: complaint-classifier" in result.output
    assert "Traceback" not in result.output
