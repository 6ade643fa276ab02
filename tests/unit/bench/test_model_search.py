"""``riskloop models search nab``: the grid, the guard against an always-on design, the ranking,
and the command on synthetic NAB files (bench/nab_synthetic.py) in the documented layout."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from bench import model_search, nab_synthetic
from bench.model_search import Design, FileResult
from models.errors import ModelError
from streams.cli import app  # the root: `models search` is bench's plug-in

if TYPE_CHECKING:
    from pathlib import Path


def _design(params: dict[str, object], *files: tuple[int, int, int, float]) -> Design:
    return Design(
        params,
        {f"f{i}": FileResult(w, found, eps, far) for i, (w, found, eps, far) in enumerate(files)},
    )


def test_designs_cover_the_product_and_null_leaves_an_option_off():
    points = list(model_search.designs({"q": [0.99, 0.999], "hold_seconds": [None, 60, 600]}))
    assert len(points) == 6
    assert {"q": 0.99} in points
    assert all("hold_seconds" not in p or p["hold_seconds"] in (60, 600) for p in points)


def test_an_always_on_design_does_not_qualify_and_the_rest_rank_by_the_rule():
    always_on = _design({"q": 0.9, "a": 1}, (2, 2, 1, 0.9), (3, 3, 0, 0.6))
    plain = _design({"q": 0.999}, (2, 1, 3, 0.01), (3, 3, 2, 0.02))
    better = _design({"q": 0.999, "hold": 1}, (2, 2, 2, 0.03), (3, 3, 1, 0.04))
    fewer_episodes = _design({"q": 0.999, "hold": 2}, (2, 1, 0, 0.01), (3, 3, 0, 0.01))
    assert not always_on.qualifies(0.05)
    assert always_on.met(2) == 2  # it would win without the guard
    ranked = sorted([plain, fewer_episodes, better], key=lambda d: d.key(2))
    assert ranked == [better, fewer_episodes, plain]  # goal met on 2 files, then fewer episodes


def test_read_grid_names_what_is_wrong(tmp_path: Path):
    bad = tmp_path / "grid.json"
    bad.write_text('{\n  "q": [0.99],\n  "span_seconds": [3600,]\n}', encoding="utf-8")
    with pytest.raises(ModelError, match="line 3"):
        model_search.read_grid(bad)
    bad.write_text('{"q": []}', encoding="utf-8")
    with pytest.raises(ModelError, match="'q'"):
        model_search.read_grid(bad)


def test_search_on_synthetic_files_evaluates_each_file_alone(tmp_path: Path):
    nab_synthetic.write(tmp_path, seeds=(1,), days=40)
    grid = {"span_seconds": [3600.0, 10800.0], "hold_seconds": [None, 10800.0]}
    seen: list[Design] = []
    ranked = model_search.search(tmp_path, grid, max_false_alarm_rate=1.0, progress=seen.append)
    assert len(ranked) == len(seen) == 4
    assert all(set(d.files) == {"synthetic-s1-1h", "synthetic-s1-5min"} for d in ranked)
    keys = [d.key(2) for d in ranked]
    assert keys == sorted(keys)
    # one file evaluated alone gives what `models evaluate nab` gives on a folder holding only it
    from bench import evaluations

    alone = tmp_path / "alone" / "equipment" / "nab"
    alone.mkdir(parents=True)
    for suffix in (".csv", ".windows.json"):
        src = tmp_path / "equipment" / "nab" / f"synthetic-s1-1h{suffix}"
        (alone / src.name).write_bytes(src.read_bytes())
    params = {"span_seconds": 3600.0}
    (row,), _ = evaluations.nab(tmp_path / "alone", params=params)
    design = next(d for d in ranked if d.params == params)
    hourly = design.files["synthetic-s1-1h"]
    assert (hourly.found, hourly.episodes) == (row["windows_detected"], row["false_alarm_episodes"])


def test_cli_search_prints_the_ranking_and_refuses_a_bad_grid(tmp_path: Path):
    nab_synthetic.write(tmp_path, seeds=(2,), days=30)
    grid, out = tmp_path / "grid.json", tmp_path / "designs.jsonl"
    grid.write_text(json.dumps({"span_seconds": [3600.0], "hold_seconds": [None, 3600.0]}))
    runner = CliRunner()
    args = ["models", "search", "nab", "--tuning-dir", str(tmp_path), "--grid", str(grid)]
    result = runner.invoke(app, [*args, "--out", str(out), "--max-false-alarm-rate", "1"])
    assert result.exit_code == 0, result.output
    assert "2 of 2 designs qualify" in result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["params"] for line in lines].count({"span_seconds": 3600.0}) == 1
    assert all(set(line["files"]) == {"synthetic-s2-1h", "synthetic-s2-5min"} for line in lines)
    grid.write_text('{"span_seconds": 3600}')
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1
    assert "span_seconds" in refused.output
    assert "Traceback" not in refused.output
    other = runner.invoke(
        app, ["models", "search", "skab", "--tuning-dir", str(tmp_path), "--grid", str(grid)]
    )
    assert other.exit_code == 1
    assert "nab only" in other.output
