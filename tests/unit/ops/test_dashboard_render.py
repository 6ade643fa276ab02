"""The pure half of `riskloop ops snapshot-dashboard`: panels and PromQL read from the shipped
dashboard JSON, variables expanded the way Grafana sends them, legends, layout, and a render
from synthetic data (no Prometheus, no Kafka)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bench.dashboard import (
    MAIN_DASHBOARD,
    PanelData,
    Series,
    expand,
    fmt,
    grid_extent,
    legend,
    load_dashboard,
    plain,
    render,
    threshold_colour,
)
from tests.unit.ops.assets import load_json, panels

if TYPE_CHECKING:
    from pathlib import Path


def test_every_panel_and_query_of_the_main_dashboard_is_read() -> None:
    dash = load_dashboard(MAIN_DASHBOARD)
    raw = list(panels(load_json(MAIN_DASHBOARD)))
    assert dash.uid == "riskloop-flow"
    assert {p.id for p in dash.panels} == {p["id"] for p in raw}
    exprs = sorted(t["expr"] for p in raw for t in p.get("targets", []))
    assert sorted(t.expr for _, t in dash.queries) == exprs
    kinds = {p.kind for p in dash.panels}
    assert {"row", "stat", "timeseries"} <= kinds
    stat = next(p for p in dash.panels if p.title == "Dead-letter share")
    assert stat.unit == "percentunit"
    assert stat.thresholds[0] == (None, "green")
    # reading order: by row, then left to right
    assert [(p.y, p.x) for p in dash.panels] == sorted((p.y, p.x) for p in dash.panels)


def test_expanded_queries_carry_no_grafana_variables() -> None:
    dash = load_dashboard(MAIN_DASHBOARD)
    assert dash.variables == {"source": ".*"}
    for _, t in dash.queries:
        q = expand(t.expr, dash.variables, rate_interval="10s")
        assert "$" not in q, q
        assert q.count("(") == q.count(")")
    src = next(t.expr for p, t in dash.queries if p.title == "Events in by source")
    assert expand(src, dash.variables, rate_interval="4s") == (
        'sum by (source) (rate(riskloop_events_in_total{source=~".*"}[4s]))'
    )
    assert expand("x[${__rate_interval}]", {}, rate_interval="5s") == "x[5s]"


def test_legends_units_and_thresholds() -> None:
    assert legend("{{source}} · {{reason}}", {"source": "trucks", "reason": "schema"}) == (
        "trucks · schema"
    )
    assert legend("__auto", {"__name__": "up", "job": "riskloop"}) == "job=riskloop"
    assert legend("__auto", {}, "sum(up)") == "sum(up)"
    assert fmt(None, "") == "No data"
    assert fmt(float("nan"), "s") == "No data"
    assert fmt(3.0, "") == "3"
    assert fmt(2.5, "s") == "2.50 s"
    stat = next(p for p in load_dashboard(MAIN_DASHBOARD).panels if p.title == "Dead-letter share")
    assert [threshold_colour(stat, v) for v in (None, 0.0, 0.02, 0.5)] == [
        "green",
        "green",
        "orange",
        "red",
    ]
    assert plain("Health 运行状态") == "Health"
    assert not re.search(r"[\u4e00-\u9fff]", plain(load_dashboard(MAIN_DASHBOARD).title))


def test_layout_fits_the_24_column_grid() -> None:
    dash = load_dashboard(MAIN_DASHBOARD)
    rows, cols = grid_extent(dash.panels)
    assert cols == 24
    assert rows == max(p.y + p.h for p in dash.panels)
    for p in dash.panels:
        assert p.x >= 0, p.title
        assert p.x + p.w <= cols, p.title
    # no two panels overlap on the grid
    cells: set[tuple[int, int]] = set()
    for p in dash.panels:
        mine = {(y, x) for y in range(p.y, p.y + p.h) for x in range(p.x, p.x + p.w)}
        assert not cells & mine, p.title
        cells |= mine


def test_render_draws_a_png_from_synthetic_data(tmp_path: Path) -> None:
    dash = load_dashboard(MAIN_DASHBOARD)
    times = [1_700_000_000.0 + i for i in range(30)]
    data = {
        p.id: PanelData(series=[Series("a", times, [float(i % 7) for i in range(30)])])
        for p in dash.panels
        if p.kind in ("stat", "timeseries")
    }
    out = render(dash, data, tmp_path / "d.png", start=times[0], end=times[-1], footer="test")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size < 500_000
