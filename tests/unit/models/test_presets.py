"""Presets (models/presets.py): the settings the evaluations measure, publishable by name."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bench import evaluations
from models.errors import UnknownPreset
from models.factories import create
from models.presets import PRESETS, resolve
from models.publication import ModelPublication, build
from streams.cli import app, main


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_a_preset_builds_and_scores_as_a_publication_would(name: str) -> None:
    p = PRESETS[name]
    model = build(
        ModelPublication(
            name=p.factory,
            factory=p.factory,
            params=dict(p.params),
            version=f"{name}-1",
            published_by="test",
        )
    )
    assert {k: model.params[k] for k in p.params} == dict(p.params)
    assert model.params != create(p.factory).params  # not the factory's own defaults


def test_the_evaluations_measure_the_presets() -> None:
    assert dict(PRESETS["skab"].params) == evaluations.SKAB_DEFAULTS
    assert dict(PRESETS["nab"].params) == evaluations.NAB_DEFAULTS
    # SKAB's preset learns exactly the protocol's training part before it may alert
    assert PRESETS["skab"].params["warmup"] == evaluations.SKAB_SKIP


def test_params_lay_over_the_preset_and_a_foreign_factory_is_refused() -> None:
    factory, params = resolve(None, "skab", {"q": 0.995, "early_seconds": 60, "early_bar": 15})
    assert factory == "equipment-anomaly"
    assert (params["q"], params["hold_seconds"], params["early_bar"]) == (0.995, 10.0, 15)
    assert resolve("equipment-anomaly", "nab", {})[1] == dict(PRESETS["nab"].params)
    with pytest.raises(UnknownPreset, match="is for factory 'equipment-anomaly'"):
        resolve("complaint-classifier", "skab", {})
    with pytest.raises(UnknownPreset, match="presets: nab, skab"):
        resolve(None, "elevator", {})
    with pytest.raises(UnknownPreset, match="neither a factory nor a preset"):
        resolve(None, None, {})


def test_the_cli_lists_presets_and_checks_a_preset_publication_before_sending(
    capsys: pytest.CaptureFixture[str],
) -> None:
    listed = CliRunner().invoke(app, ["models", "list"])
    assert listed.exit_code == 0, listed.output
    assert "skab" in listed.output
    assert "equipment-anomaly" in listed.output.split("presets")[-1]
    # a bad param over a preset is refused by the factory's own check, before any broker
    publish = ["models", "publish", "m", "--version", "v", "--preset"]
    with pytest.raises(SystemExit) as refused:
        main([*publish, "skab", "--params", '{"q": 2}'])
    said = capsys.readouterr().err
    assert refused.value.code == 1
    assert "bad params for model factory 'equipment-anomaly': q" in said
    assert "Traceback" not in said
    with pytest.raises(SystemExit) as refused:
        main([*publish, "x"])
    assert refused.value.code == 1
    assert "no preset 'x'; presets: nab, skab" in capsys.readouterr().err
