"""Grafana provisioning holds together: the datasource uid the dashboards use is the one
provisioned, dashboards have unique uids and panel ids, and panels fit the 24-column grid."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.unit.ops.assets import DASHBOARDS, GRAFANA, load_json, load_yaml, panels

if TYPE_CHECKING:
    from pathlib import Path

DATASOURCE = load_yaml(GRAFANA / "datasources" / "prometheus.yml")["datasources"][0]


def test_the_four_dashboards_exist() -> None:
    assert {p.stem for p in DASHBOARDS} == {
        "riskloop-flow",
        "riskloop-risk",
        "riskloop-tasks",
        "riskloop-quality",
    }
    uids = [load_json(p)["uid"] for p in DASHBOARDS]
    assert len(set(uids)) == len(uids)


def test_datasource_points_at_compose_prometheus() -> None:
    assert DATASOURCE["type"] == "prometheus"
    assert DATASOURCE["url"] == "http://prometheus:9090"


def test_provider_loads_the_folder_it_is_mounted_in() -> None:
    provider = load_yaml(GRAFANA / "dashboards" / "provider.yml")["providers"][0]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/etc/grafana/provisioning/dashboards"


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.stem for p in DASHBOARDS])
def test_dashboard_is_well_formed(path: Path) -> None:
    d = load_json(path)
    all_panels = list(panels(d))
    ids = [p["id"] for p in all_panels]
    assert len(set(ids)) == len(ids)
    for p in all_panels:
        g = p["gridPos"]
        assert g["x"] >= 0, p["title"]
        assert g["x"] + g["w"] <= 24, p["title"]
        if p["type"] != "row":
            assert p.get("description"), f"{p['title']}: say what the panel is for"
            assert p["datasource"]["uid"] == DATASOURCE["uid"], p["title"]
            assert all(t["datasource"]["uid"] == DATASOURCE["uid"] for t in p["targets"])
    for var in d["templating"]["list"]:
        assert var["datasource"]["uid"] == DATASOURCE["uid"], var["name"]
