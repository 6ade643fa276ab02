"""Every PromQL expression in the dashboards and alert rules uses metrics and labels that
streams.metrics really exports — a renamed label otherwise leaves a panel silently empty."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

from tests.unit.ops.assets import DASHBOARDS, PROMETHEUS, load_json, load_yaml, panels
from tests.unit.ops.promql import Exposed, Selector, exported, parse, problems

if TYPE_CHECKING:
    from pathlib import Path

KNOWN = exported()
GRAFANA_BUILTINS = {"__range", "__rate_interval", "__interval", "__range_s", "__interval_ms"}
_LABEL_VALUES = re.compile(r"^label_values\(\s*(?P<sel>.+?)\s*,\s*(?P<label>\w+)\s*\)$")


def alert_exprs() -> list[tuple[str, str]]:
    rules = load_yaml(PROMETHEUS / "alerts.yml")
    return [(r["alert"], r["expr"]) for g in rules["groups"] for r in g["rules"]]


def test_tokenizer_finds_selectors_grouping_and_functions() -> None:
    p = parse(
        "histogram_quantile(0.95, sum by (le, source) (rate(riskloop_processing_latency_seconds_bucket"
        '{stage="ingest", source=~"a|b"}[5m]))) > 5 and on(source) riskloop_events_in_total offset 1h'
    )
    assert p.selectors == [
        Selector("riskloop_processing_latency_seconds_bucket", ("stage", "source")),
        Selector("riskloop_events_in_total", ()),
    ]
    assert p.grouping == ["le", "source", "source"]
    assert p.functions == ["histogram_quantile", "sum", "rate"]


def test_strings_ranges_and_variables_are_not_names() -> None:
    p = parse(
        'sum without (reason) (increase(riskloop_events_deadlettered_total{source=~"$source|up"}[$__range]))'
    )
    assert [s.metric for s in p.selectors] == ["riskloop_events_deadlettered_total"]
    assert p.grouping == ["reason"]


def test_checker_reports_wrong_names() -> None:
    """The check is worth something only if it fails on the usual mistakes."""
    assert problems("rate(riskloop_events_in[5m])", KNOWN) == [
        "metric riskloop_events_in is not exported by streams.metrics"
    ]
    assert problems('riskloop_tasks_open{dept="x"}', KNOWN) == [
        "riskloop_tasks_open has no label 'dept'"
    ]
    assert problems("sum by (region) (riskloop_tasks_open)", KNOWN) == [
        "grouping label 'region' is on none of ['riskloop_tasks_open']"
    ]
    assert problems("rates(riskloop_sink_backlog[5m])", KNOWN) == ["unknown function rates()"]


def test_exported_names_carry_the_exposition_suffixes() -> None:
    assert KNOWN["riskloop_events_in_total"] == Exposed(frozenset({"source"}))
    assert "le" in KNOWN["riskloop_time_to_dispose_seconds_bucket"].labels
    assert KNOWN["riskloop_active_info"].open_labels
    assert "riskloop_events_in" not in KNOWN  # counters are only scraped with _total


@pytest.mark.parametrize(("alert", "expr"), alert_exprs(), ids=[a for a, _ in alert_exprs()])
def test_alert_rules_use_exported_metrics(alert: str, expr: str) -> None:
    assert problems(expr, KNOWN) == []


def test_alert_rule_tests_feed_exported_series() -> None:
    """The series promtool tests feed must be real too, or a test proves nothing."""
    tests = load_yaml(PROMETHEUS / "alerts_test.yml")["tests"]
    series = [s["series"] for t in tests for s in t["input_series"]]
    assert series
    assert [(s, problems(s, KNOWN)) for s in series if problems(s, KNOWN)] == []


def dashboard_exprs(path: Path) -> list[tuple[str, str]]:
    d = load_json(path)
    return [
        (f"{p['title']}/{t['refId']}", t["expr"])
        for p in panels(d)
        for t in p.get("targets", [])
        if "expr" in t
    ]


def variables(d: dict[str, Any]) -> set[str]:
    return {v["name"] for v in d.get("templating", {}).get("list", [])}


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.stem for p in DASHBOARDS])
def test_dashboard_queries_use_exported_metrics(path: Path) -> None:
    exprs = dashboard_exprs(path)
    assert len(exprs) >= 8, "a dashboard with almost no queries is a stub"
    assert [(where, e, problems(e, KNOWN)) for where, e in exprs if problems(e, KNOWN)] == []


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.stem for p in DASHBOARDS])
def test_dashboard_variables_are_defined_and_real(path: Path) -> None:
    d = load_json(path)
    defined = variables(d)
    for var in d["templating"]["list"]:
        query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        m = _LABEL_VALUES.match(query)
        assert m, f"variable {var['name']}: expected label_values(metric, label), got {query}"
        sel = parse(m["sel"]).selectors[0]
        assert sel.metric in KNOWN, query
        assert m["label"] in KNOWN[sel.metric].labels, query
    used = {name for _, e in dashboard_exprs(path) for name in re.findall(r"\$\{?(\w+)", e)}
    assert used - defined - GRAFANA_BUILTINS == set()
