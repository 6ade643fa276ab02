"""docker-compose.yml agrees with the settings defaults and with the Prometheus config, and
carries no default password and no port open beyond the host.

No Docker engine runs here, so the file is held to what can be checked: it parses, every
service is there with a healthcheck, host ports are the Settings() defaults published on
127.0.0.1 only, every password is a variable compose requires (``${NAME:?…}``) that
`riskloop dev compose-env` generates, the workers' environment names real settings fields, and
— when the docker client has the compose plugin — `docker compose config -q` accepts it.
"""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

from config.settings import Settings, settings_table
from infra.secrets import COMPOSE_SECRETS, ensure_env_file
from tests.unit.ops.assets import PROMETHEUS, ROOT, load_yaml

if TYPE_CHECKING:
    from pathlib import Path

COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
COMPOSE = load_yaml(ROOT / "docker-compose.yml")
SERVICES: dict[str, Any] = COMPOSE["services"]
DEFAULTS = Settings(_env_file=None)  # type: ignore[call-arg]
WORKERS = sorted(name for name in SERVICES if name.startswith("worker-"))
ONE_SHOTS = {"topics-init", "demo"}
FAKE_SECRETS = {name: f"test-{name.lower()}" for name in COMPOSE_SECRETS}
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|REQUIREPASS|SECRET|TOKEN|_KEY$", re.I)
_VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


class MissingVariable(LookupError):
    """Compose refuses to start: a required variable is unset."""


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Compose's interpolation of ``value`` with ``env`` (default: the generated secrets):
    ``${VAR:-default}``, ``${VAR:?error}`` (required: raises if unset), ``${VAR}``; ``$$`` is $."""
    env = FAKE_SECRETS if env is None else env

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.groups()
        if env.get(name):
            return env[name]
        if op and op.endswith("?"):
            raise MissingVariable(f"{name}: {arg}")
        return arg if op and op.endswith("-") else ""

    return _VARIABLE.sub(one, value.replace("$$", "\0")).replace("\0", "$")


def host_ports(service: str) -> dict[int, int]:
    """Host port → container port of a service."""
    out = {}
    for spec in SERVICES[service].get("ports", []):
        host, container = str(spec).rsplit(":", 1) if ":" in str(spec) else (spec, spec)
        out[int(host.split(":")[-1])] = int(container)
    return out


def environments() -> list[tuple[str, str, str]]:
    """(service, variable, raw value) of every environment entry of every service."""
    return [
        (name, key, str(value))
        for name, svc in SERVICES.items()
        for key, value in (svc.get("environment") or {}).items()
    ]


def test_all_services_are_there() -> None:
    assert set(SERVICES) == {
        "kafka",
        "redis",
        "postgres",
        "topics-init",
        "worker-1",
        "worker-2",
        "prometheus",
        "grafana",
        "demo",
    }
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
    assert s.sql_secret is not None
    assert s.sql_secret.get_secret_value() == interpolate(
        SERVICES["postgres"]["environment"]["POSTGRES_PASSWORD"]
    )
    assert s.redis_url == "redis://redis:6379/0"
    assert s.redis_secret is not None
    assert s.redis_secret.get_secret_value() == interpolate(
        SERVICES["redis"]["environment"]["REDIS_PASSWORD"]
    )
    # 0.0.0.0 inside the container, for Prometheus in another one; the host side is loopback
    assert s.web_host == "0.0.0.0"
    assert all(str(p).startswith("127.0.0.1:") for w in WORKERS for p in SERVICES[w]["ports"])


# ---------------------------------------------------------------- no default password, loopback


def test_every_port_is_published_on_loopback_only() -> None:
    """A published port without a host address is 0.0.0.0: every interface of the host."""
    published = 0
    for name, svc in SERVICES.items():
        for spec in svc.get("ports", []):
            published += 1
            if isinstance(spec, dict):  # the long syntax
                assert spec.get("host_ip") == "127.0.0.1", (name, spec)
                continue
            host_ip, _, rest = str(spec).partition(":")
            assert host_ip == "127.0.0.1", (name, spec)
            assert rest.count(":") == 1, (name, spec)
    assert published == 7
    assert "0.0.0.0:" not in COMPOSE_TEXT


def test_every_secret_is_a_required_variable_without_default() -> None:
    """A password, secret or token is exactly ``${NAME:?…}``: compose refuses to start without
    it, and no literal or ``:-default`` can slip back in."""
    found = {}
    for service, key, raw in environments():
        if not SECRET_NAME.search(key):
            continue
        match = _VARIABLE.fullmatch(raw)
        assert match, f"{service}.{key} = {raw!r}"
        assert match.group(2) == ":?", f"{service}.{key} = {raw!r}"
        found[(service, key)] = match.group(1)
    assert set(found.values()) == set(COMPOSE_SECRETS)
    assert found[("postgres", "POSTGRES_PASSWORD")] == found[("worker-1", "RISKLOOP_SQL_PASSWORD")]
    assert found[("redis", "REDIS_PASSWORD")] == found[("worker-1", "RISKLOOP_REDIS_PASSWORD")]


def test_no_secret_variable_has_a_default_anywhere_in_the_file() -> None:
    """Also outside ``environment:`` (a command, a healthcheck, a comment turned live)."""
    for match in _VARIABLE.finditer(COMPOSE_TEXT):
        name, op, _ = match.groups()
        if SECRET_NAME.search(name):
            assert op == ":?", match.group(0)
    literal = r"(?i)(password|requirepass)[\"']?\s*[:=]\s*['\"]?(riskloop|admin|secret|changeme)\b"
    assert not re.search(literal, COMPOSE_TEXT)


def test_compose_refuses_to_start_without_the_secrets() -> None:
    for _, key, raw in environments():
        if SECRET_NAME.search(key):
            with pytest.raises(MissingVariable, match="compose-env"):
                interpolate(raw, {})
            name = raw.removeprefix("${").split(":", 1)[0]
            assert interpolate(raw) == FAKE_SECRETS[name]


def test_redis_requires_the_password_and_its_healthcheck_sends_it() -> None:
    redis = SERVICES["redis"]
    script = redis["command"][-1]
    assert redis["command"][:2] == ["sh", "-c"]
    assert script.startswith("exec redis-server ")
    assert "requirepass $$REDIS_PASSWORD" in script  # from stdin ("-"), not the command line
    assert "--requirepass" not in script
    check = " ".join(redis["healthcheck"]["test"])
    assert 'REDISCLI_AUTH="$$REDIS_PASSWORD"' in check
    assert "PONG" in check


def test_no_compose_secret_is_a_riskloop_setting() -> None:
    """compose reads .env, and so does Settings: a generated .env must not hand the compose
    Redis password to a host ``riskloop`` talking to the dev stack's Redis."""
    settings_vars = {line.split("`")[1] for line in settings_table().splitlines()[2:]}
    assert not set(COMPOSE_SECRETS) & settings_vars


def test_compose_env_generates_every_required_secret(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("RISKLOOP_PG_PASSWORD=kept-as-it-was\nOTHER=1")
    assert ensure_env_file(env_file, COMPOSE_SECRETS) == list(COMPOSE_SECRETS[1:])
    assert ensure_env_file(env_file, COMPOSE_SECRETS) == []  # idempotent
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert values["RISKLOOP_PG_PASSWORD"] == "kept-as-it-was"
    assert values["OTHER"] == "1"
    assert len({values[n] for n in COMPOSE_SECRETS}) == len(COMPOSE_SECRETS)
    for _, _, raw in environments():
        interpolate(raw, values)  # nothing required is missing


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
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_the_workers_share_one_control_signing_key() -> None:
    """Each worker trusts its own key only (no trusted-keys file here): two keys would make
    each refuse what the other's API published."""
    state = SERVICES["worker-1"]["environment"]["RISKLOOP_DEV__STATE_DIR"]
    for worker in WORKERS:
        assert f"control-keys:{state}/keys" in SERVICES[worker]["volumes"], worker
    assert "/state" in (ROOT / "Dockerfile").read_text()  # owned by the image's user
