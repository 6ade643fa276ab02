"""infra/prometheus.py without a process: the config it generates and its idle answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import yaml

from config.settings import DevStackSettings
from infra import prometheus

if TYPE_CHECKING:
    from pathlib import Path


def test_config_scrapes_the_targets_and_loads_the_alerts() -> None:
    config = yaml.safe_load(
        prometheus.render_config(["127.0.0.1:6066", "127.0.0.1:6067"], scrape_interval="1s")
    )
    assert config["global"]["scrape_interval"] == "1s"
    assert config["rule_files"] == [str(prometheus.ALERT_RULES)]
    assert prometheus.ALERT_RULES.is_file()
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "riskloop"  # the alert rules select up{job="riskloop"}
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"] == [{"targets": ["127.0.0.1:6066", "127.0.0.1:6067"]}]


def test_state_lives_under_the_dev_state_dir(tmp_path: Path) -> None:
    dev = DevStackSettings(state_dir=tmp_path, prometheus_port=19090)
    assert prometheus.config_file(dev).parent == tmp_path / "prometheus"
    assert str(prometheus.config_file(dev)) in prometheus.marker(dev)
    assert prometheus.base_url(dev) == "http://127.0.0.1:19090"


def test_idle_status_and_stop(tmp_path: Path) -> None:
    dev = DevStackSettings(state_dir=tmp_path)
    assert prometheus.status(dev) == (False, "not running")
    assert prometheus.stop(dev) == "prometheus was not running"
