"""A local Prometheus from Debian's package, on loopback, scraping the workers we name.

Integration tests and a developer's machine need the real thing (the same binary that evaluates
config/prometheus/alerts.yml in production), not a mock: ``start(dev, targets)`` writes a
config that scrapes ``targets`` and loads the shipped alert rules, starts Prometheus with its own
data folder under ``dev.state_dir/prometheus`` and waits for ``/-/ready``. Calling ``start`` on
a running one rewrites the config and reloads it (SIGHUP), so the target list can change
without losing the data. ``query`` runs PromQL over the HTTP API with the standard library.
"""

from __future__ import annotations

import json
import os
import signal
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any

import yaml

from config.settings import PROJECT_ROOT, DevStackSettings
from infra.errors import InfraError
from infra.packages import ensure_binary
from infra.process import ServiceProcess, ensure_port_free

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

JOB = "riskloop"
"""The scrape job of the workers: the alert rules select ``up{job="riskloop"}``."""

ALERT_RULES = PROJECT_ROOT / "config" / "prometheus" / "alerts.yml"


def _home(dev: DevStackSettings) -> Path:
    return dev.state_dir / "prometheus"


def config_file(dev: DevStackSettings) -> Path:
    """The generated scrape config, rewritten at every ``start``: a new target list
    is one SIGHUP away and keeps the data.
    """
    return _home(dev) / "prometheus.yml"


def marker(dev: DevStackSettings) -> str:
    """What tells our Prometheus from any other: it keeps its argv as its title, and
    ours names our config file.
    """
    # Prometheus keeps its argv as its title; the config path tells our instance from others
    return f"--config.file={config_file(dev)}"


def _process(dev: DevStackSettings) -> ServiceProcess:
    home = _home(dev)
    return ServiceProcess(
        "prometheus", "Prometheus", home / "prometheus.pid", home / "prometheus.log", marker(dev)
    )


def render_config(
    targets: Sequence[str],
    *,
    scrape_interval: str = "5s",
    rule_files: Sequence[Path] = (ALERT_RULES,),
) -> str:
    """Prometheus YAML that scrapes ``targets`` (``host:port``) at ``/metrics`` as job riskloop.

    >>> print(render_config(["127.0.0.1:6066"], rule_files=()).splitlines()[-1])
        - 127.0.0.1:6066
    """
    config: dict[str, Any] = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [
            {
                "job_name": JOB,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": list(targets)}],
            }
        ],
    }
    return yaml.safe_dump(config, sort_keys=False)


def base_url(dev: DevStackSettings) -> str:
    """Our Prometheus's HTTP address (loopback only), for ``api`` and the status lines."""
    return f"http://127.0.0.1:{dev.prometheus_port}"


def probe(port: int) -> bool:
    """True when Prometheus on ``port`` says it is ready to serve queries."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1) as rsp:
            return bool(rsp.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def start(
    dev: DevStackSettings,
    targets: Sequence[str],
    *,
    scrape_interval: str = "5s",
    rule_files: Sequence[Path] = (ALERT_RULES,),
) -> str:
    """Start (or reconfigure) our Prometheus scraping ``targets``; returns one status line."""
    _home(dev).mkdir(parents=True, exist_ok=True)
    config_file(dev).write_text(
        render_config(targets, scrape_interval=scrape_interval, rule_files=rule_files)
    )
    pid = _process(dev).running()
    if pid:
        os.kill(pid, signal.SIGHUP)  # Prometheus re-reads its config and rules on SIGHUP
        _wait_ready(dev, pid)
        return (
            f"prometheus reloaded on {base_url(dev)} (pid {pid}), scraping {len(targets)} targets"
        )
    binary = ensure_binary("prometheus", "prometheus")
    ensure_port_free(dev.prometheus_port, "Prometheus")
    argv = command(dev, binary)
    pid = _process(dev).spawn(argv)
    _wait_ready(dev, pid)
    return f"prometheus started on {base_url(dev)} (pid {pid}), scraping {len(targets)} targets"


def command(dev: DevStackSettings, binary: str) -> list[str]:
    """``prometheus`` serving on 127.0.0.1 only, its data under the state folder."""
    return [
        binary,
        marker(dev),
        f"--storage.tsdb.path={_home(dev) / 'data'}",
        f"--web.listen-address=127.0.0.1:{dev.prometheus_port}",
        "--storage.tsdb.retention.time=2d",
        "--log.level=warn",
    ]


def _wait_ready(dev: DevStackSettings, pid: int) -> None:
    _process(dev).wait_ready(lambda: probe(dev.prometheus_port), timeout=dev.start_timeout, pid=pid)


def stop(dev: DevStackSettings) -> str:
    """Stop our Prometheus and drop its pid file; its data folder stays for the next
    start.
    """
    return _process(dev).stop()


def status(dev: DevStackSettings) -> tuple[bool, str]:
    """(healthy, one line) for the dashboard and the tests: healthy means ``/-/ready``
    answers, so queries will.
    """
    return _process(dev).status(lambda: probe(dev.prometheus_port), base_url(dev))


def api(dev: DevStackSettings, path: str, **params: str) -> Any:
    """GET ``/api/v1/<path>`` and return its ``data``; an error status becomes an InfraError."""
    url = f"{base_url(dev)}/api/v1/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=10) as rsp:
            body = json.loads(rsp.read())
    except urllib.error.HTTPError as exc:
        body = json.loads(exc.read() or b"{}")
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise InfraError(f"Prometheus API {path} failed: {exc}") from exc
    if body.get("status") != "success":
        raise InfraError(f"Prometheus API {path} failed: {body.get('error', body)}")
    return body["data"]


def query(dev: DevStackSettings, expr: str) -> list[dict[str, Any]]:
    """An instant PromQL query: a list of ``{"metric": {...}, "value": [ts, "v"]}``."""
    data = api(dev, "query", query=expr)
    result: list[dict[str, Any]] = data["result"] if data["resultType"] == "vector" else []
    return result


def scalar(dev: DevStackSettings, expr: str) -> float | None:
    """The value of a query that yields one sample, or None when it yields none."""
    rows = query(dev, expr)
    if not rows:
        return None
    if len(rows) > 1:
        raise InfraError(f"query {expr!r} returned {len(rows)} series, expected one")
    return float(rows[0]["value"][1])
