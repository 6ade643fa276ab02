"""The alert rules are valid and behave as their unit tests say (`promtool check` / `test`),
the compose Prometheus config is valid and loads them, and Prometheus parses every dashboard
query."""

from __future__ import annotations

import re
import subprocess
from typing import TYPE_CHECKING

import yaml

from tests.unit.ops.assets import DASHBOARDS, PROMETHEUS, load_json, load_yaml, panels

if TYPE_CHECKING:
    from pathlib import Path


def run(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60, check=False
    )


def test_rules_are_valid(promtool: str) -> None:
    proc = run(promtool, "check", "rules", "alerts.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rules = [r for g in load_yaml(PROMETHEUS / "alerts.yml")["groups"] for r in g["rules"]]
    assert f"SUCCESS: {len(rules)} rules found" in proc.stdout


def test_rules_pass_their_unit_tests(promtool: str) -> None:
    proc = run(promtool, "test", "rules", "alerts_test.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_alert_has_a_firing_test() -> None:
    rules = {r["alert"] for g in load_yaml(PROMETHEUS / "alerts.yml")["groups"] for r in g["rules"]}
    tested = {
        case["alertname"]
        for t in load_yaml(PROMETHEUS / "alerts_test.yml")["tests"]
        for case in t["alert_rule_test"]
        if case.get("exp_alerts")
    }
    assert rules - tested == set()


def test_every_alert_says_how_bad_and_what_happened() -> None:
    for group in load_yaml(PROMETHEUS / "alerts.yml")["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
            assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]


def test_compose_config_is_valid(promtool: str) -> None:
    proc = run(promtool, "check", "config", "prometheus.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 1 rule files found" in proc.stdout


GRAFANA_VARS = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h"}


def test_dashboard_queries_parse_with_prometheus(promtool: str, tmp_path: Path) -> None:
    """Prometheus's own parser reads every dashboard query (as a recording rule for promtool)."""
    exprs = [
        t["expr"]
        for path in DASHBOARDS
        for panel in panels(load_json(path))
        for t in panel.get("targets", [])
        if "expr" in t
    ]
    rules = [
        {"record": f"dashboard:check_{i}", "expr": _fill_grafana_vars(e)}
        for i, e in enumerate(exprs)
    ]
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    proc = run(promtool, "check", "rules", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(rules)} rules found" in proc.stdout


def _fill_grafana_vars(expr: str) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: GRAFANA_VARS.get(m[1], ".*"), expr)
