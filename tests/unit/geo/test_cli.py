"""``riskloop geo`` sub-app: validate and map, offline."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from streams.cli import app  # the root: `geo map` is bench's plug-in
from tests.unit.geo.conftest import GEOFENCES, GPS, doc, feature, square

if TYPE_CHECKING:
    from pathlib import Path

runner = CliRunner()


def test_validate_ok_and_refused(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["geo", "validate", str(GEOFENCES / "geolife_beijing.geojson")])
    assert ok.exit_code == 0
    assert "geolife-beijing" in ok.output
    assert "GCJ02" in ok.output
    bad = tmp_path / "bad.geojson"
    d = doc(feature("a", "speed_zone", square(0, 0, 10, 10)))
    bad.write_text(json.dumps(d), "utf-8")
    res = runner.invoke(app, ["geo", "validate", str(bad)])
    assert res.exit_code == 1
    assert "limit_kmh" in res.output


def test_map_writes_a_png(tmp_path: Path) -> None:
    out = tmp_path / "map.png"
    res = runner.invoke(
        app,
        [
            "geo",
            "map",
            "--trajectory",
            str(GPS / "liverpool-bus-route14.csv"),
            "--fences",
            str(GEOFENCES / "liverpool_route14.geojson"),
            "--out",
            str(out),
            "--vehicle",
            "4722",
            "--permit",
            "AMSY-14",
        ],
    )
    assert res.exit_code == 0, res.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "route_deviation 1" in res.output
