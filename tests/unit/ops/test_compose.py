"""docker-compose.yml agrees with the settings defaults and with the Prometheus config.

No Docker engine runs here, so the file is held to what can be checked: it parses, every
service is there with a healthcheck, host ports are the Settings() defaults, the workers'
environment names real settings fields, and — when the docker client has the compose plugin —
`docker compose config -q` accepts it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest

from config.settings import Settings
from tests.unit.ops.assets import PROMETHEUS, ROOT, load_yaml

COMPOSE = load_yaml(ROOT / "docker-compose.yml")
SERVICES: dict[str, Any] = COMPOSE["services"]
DEFAULTS = Settings(_env_file=None)  # type: ignore[call-arg]
WORKERS = sorted(name for name in SERVICES if name.startswith("worker-"))
ONE_SHOTS = {"topics-init", "demo"}


def interpolate(value: str) -> str:
    """Compose's ``${VAR:-default}`` with the default (no such variable is set in tests)."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def host_ports(service: str) -> dict[int, int]:
    """Host port → container port of a service."""
    out = {}
    for spec in SERVICES[service].get("ports", []):
        host, container = str(spec).rsplit(":", 1) if ":" in str(spec) else (spec, spec)
        out[int(host.split(":")[-1])] = int(container)
    return out


def test_all_services_are_there() -> None:
    assert set(SERVICES) == {
        "kafka", "redis", "postgres", "topics-init", "worker-1", "worker-2", "prometheus",
        "grafana", "demo",
    }  # fmt: skip
    assert SERVICES["kafka"]["image"] == "apache/kafka:3.9.1"
    assert SERVICES["demo"]["profiles"] == ["demo"]


def test_long_running_services_have_healthchecks() -> None:
    for name, svc in SERVICES.items():
        if name in ONE_SHOTS:
            assert svc["restart"] == "no", name
        else:
            assert svc["healthcheck"]["test"], name


def test_host_ports_are_the_settings_defaults() -> None:
    dev = DEFAULTS.dev
    assert dev.kafka_port in host_ports("kafka")
    assert host_ports("redis") == {dev.redis_port: 6379}
    assert host_ports("postgres") == {dev.postgres_port: 5432}
    assert host_ports("prometheus") == {dev.prometheus_port: 9090}
    assert host_ports("worker-1") == {DEFAULTS.web_port: DEFAULTS.web_port}
    assert list(host_ports("worker-2").values()) == [DEFAULTS.web_port]


def test_kafka_is_a_single_node_kraft_broker_reachable_from_host_and_containers() -> None:
    env = SERVICES["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    advertised = dict(
        item.split("://", 1)[::-1] for item in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    )
    assert advertised["kafka:9092"] == "PLAINTEXT"  # what the containers use
    host_listener = advertised[f"127.0.0.1:{DEFAULTS.dev.kafka_port}"]
    listen_port = next(
        int(item.rsplit(":", 1)[1])
        for item in env["KAFKA_LISTENERS"].split(",")
        if item.startswith(f"{host_listener}://")
    )
    assert host_ports("kafka")[DEFAULTS.dev.kafka_port] == listen_port
    for key in ("OFFSETS_TOPIC", "TRANSACTION_STATE_LOG"):  # exactly_once on one broker
        assert env[f"KAFKA_{key}_REPLICATION_FACTOR"] == 1
    assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == 1
    assert len(env["CLUSTER_ID"]) == 22


def test_postgres_role_and_database_are_the_settings_defaults() -> None:
    env = SERVICES["postgres"]["environment"]
    assert env["POSTGRES_USER"] == DEFAULTS.dev.postgres_user
    assert env["POSTGRES_DB"] == DEFAULTS.dev.postgres_db


@pytest.mark.parametrize("service", [*WORKERS, "topics-init", "demo"])
def test_riskloop_env_names_real_settings(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings ignores unknown variables, so a misspelt one would silently do nothing."""
    env = {k: interpolate(str(v)) for k, v in SERVICES[service]["environment"].items()}
    for key in env:
        assert key.startswith("RISKLOOP_"), key
        field = key.removeprefix("RISKLOOP_").lower().split("__")[0]
        assert field in Settings.model_fields, key
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.bootstrap_servers == "kafka:9092"
    assert s.sql_url.startswith("postgresql+psycopg://riskloop@postgres:5432/")
    assert s.sql_password is not None
    assert s.sql_password.get_secret_value() == interpolate(
        SERVICES["postgres"]["environment"]["POSTGRES_PASSWORD"]
    )
    assert s.redis_url == "redis://redis:6379/0"
    assert s.web_host == "0.0.0.0"  # reachable by Prometheus from another container


def test_workers_depend_on_topics_and_stores() -> None:
    for name in WORKERS:
        deps = SERVICES[name]["depends_on"]
        assert deps["topics-init"]["condition"] == "service_completed_successfully"
        assert deps["postgres"]["condition"] == deps["redis"]["condition"] == "service_healthy"
        assert SERVICES[name]["command"] == ["worker"]
    assert SERVICES["topics-init"]["command"] == ["topics", "create"]


def test_prometheus_scrapes_every_worker_on_web_port() -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "riskloop")
    assert job["metrics_path"] == "/metrics"
    targets = {t for sc in job["static_configs"] for t in sc["targets"]}
    assert targets == {f"{w}:{DEFAULTS.web_port}" for w in WORKERS}
    assert "./config/prometheus:/etc/prometheus:ro" in SERVICES["prometheus"]["volumes"]


def test_grafana_is_provisioned_and_anonymous_viewer() -> None:
    g = SERVICES["grafana"]
    assert g["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert g["environment"]["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    mounts = {v.split(":")[0]: v.split(":")[1] for v in g["volumes"]}
    assert mounts["./config/grafana/datasources"] == "/etc/grafana/provisioning/datasources"
    assert mounts["./config/grafana/dashboards"] == "/etc/grafana/provisioning/dashboards"
    home = g["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (ROOT / "config/grafana/dashboards" / home.rsplit("/", 1)[1]).is_file()


def test_demo_replay_code_compiles() -> None:
    code = SERVICES["demo"]["command"][0]
    compile(code, "docker-compose demo", "exec")
    assert "murmur2_random" in code


def test_dockerfile_builds_the_worker_image() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text.splitlines()
    assert "pip install ." in text
    assert 'ENTRYPOINT ["riskloop"]' in text
    assert f"EXPOSE {DEFAULTS.web_port}" in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".riskloop", ".git"} <= set(ignored)


def _compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    proc = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    return proc.returncode == 0


@pytest.mark.skipif(not _compose_available(), reason="docker client without the compose plugin")
def test_docker_compose_accepts_the_file() -> None:
    proc = subprocess.run(
        ["docker", "compose", "--profile", "demo", "config", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
