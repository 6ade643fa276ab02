"""`riskloop rules backtest` on the shipped datasets: it reads them through their mappings and its
muck-truck hits are the live worker's.

Before, the Chicago CSV was a traceback (the backtest read JSON Lines only) and truck rules showed
0 hits on raw GPS, silently (no geofencing). Here the GeoLife sample's first rows are backtested
and replayed into a real worker (history allowed: ``max_event_age_days`` covers 2008); every
(truck rule, entity) the backtest hits must be warned about by the worker, and the other way
round. The Chicago file must run and open tasks for the routed department.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

from config.settings import PROJECT_ROOT, Settings
from rules.compiler import expand_paths, load_pack
from streams.backtest_data import backtest_dataset
from tests.integration.conftest import ROOT, settings_env, tail_consumer, wait_ready

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

DATASETS = Settings().datasets_dir
GEOLIFE = DATASETS / "gps" / "geolife-sample.csv.gz"
CHICAGO = DATASETS / "inspections" / "chicago-food-inspections-2011-2014.csv.gz"
ROWS = 20_000


def _backtest_truck_hits(path: Path, rows: int) -> set[tuple[str, str]]:
    packs = [load_pack(p) for p in expand_paths([PROJECT_ROOT / "rules" / "packs"])]
    report = backtest_dataset(packs, path, "trucks", limit=rows, keep_hits=1_000_000)
    return {
        (h.rule_id, h.entity)
        for h in report.first_hits
        if h.rule_id.startswith("trucks.") and h.mode == "active"
    }


def test_truck_hits_of_the_backtest_are_the_live_workers(
    live_settings: Settings, worker: Callable[..., Any]
) -> None:
    expected = _backtest_truck_hits(GEOLIFE, ROWS)
    assert expected, "the sample's first rows must hit some truck rule"
    s = live_settings.model_copy(update={"max_event_age_days": 100_000})
    alerts = tail_consumer(s.bootstrap_servers, [s.topics.alerts])
    wait_ready(worker(s), f"http://127.0.0.1:{s.web_port}")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams",
            "replay",
            str(GEOLIFE),
            "--source",
            "trucks",
            "--limit",
            str(ROWS),
            "--as-fast-as-possible",
        ],
        cwd=ROOT,
        env=settings_env(s),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    live: set[tuple[str, str]] = set()
    deadline, quiet_since = time.monotonic() + 300, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - quiet_since < 30:
        msg = alerts.poll(0.5)
        if msg is None or msg.error():
            continue
        alert = json.loads(msg.value())
        found = {
            (r["id"], alert["entity"])
            for r in alert["reasons"]
            if r["kind"] == "rule" and r["id"].startswith("trucks.")
        }
        if not found <= live:
            live |= found
            quiet_since = time.monotonic()
        if live >= expected:
            quiet_since = min(quiet_since, time.monotonic() - 20)  # a little more, then stop
    alerts.close()
    assert live == expected, (sorted(expected - live), sorted(live - expected))


def test_the_chicago_file_backtests_through_its_mapping(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams",
            "rules",
            "backtest",
            "rules/packs",
            "--from",
            str(CHICAGO),
            "--source",
            "inspections",
            "--limit",
            "2000",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "inspections.critical_failure" in done.stdout
    assert "new tasks per month and routed department" in done.stdout
    assert "hz_market_food" in done.stdout  # config/routing.yaml, not the template default
