"""The tools' commands reach ``riskloop`` as plug-ins (pyproject.toml, ``riskloop.commands``).

``models evaluate|split|report`` and ``geo map`` read datasets and draw, so they live in ``bench/``;
``streams/`` never imports it. These run ``main`` in a fresh interpreter, as a person's
``riskloop models --help`` does, so a missing or stale entry point fails here.
"""

from __future__ import annotations

import doctest

import bench.trajectories
from tests.unit.streams.cli.test_lazy_cli import _run


def test_models_group_has_the_plugin_commands() -> None:
    result = _run(["models", "--help"])
    assert result["code"] == 0
    for command in ("list", "evaluate", "split", "report", "publish"):
        assert f" {command} " in str(result["out"])


def test_geo_group_has_map_from_the_plugin() -> None:
    result = _run(["geo", "--help"])
    assert result["code"] == 0
    for command in ("validate", "map", "publish"):
        assert f" {command} " in str(result["out"])


def test_the_plugin_command_runs_through_main() -> None:
    """An unknown dataset is exit 1 from the plug-in (without it: "No such command", exit 2)."""
    result = _run(["models", "evaluate", "nope"])
    assert result["code"] == 1


def test_trajectory_reader_doctest() -> None:
    assert doctest.testmod(bench.trajectories).failed == 0
