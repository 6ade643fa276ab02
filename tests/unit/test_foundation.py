"""The foundation's promises: settings, README agreement, CLI errors as one line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from config.settings import PROJECT_ROOT, Settings, settings_table
from streams.cli import main

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_settings_read_prefixed_and_nested_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKLOOP_KAFKA_BROKER", "kafka://10.0.0.5:9192")
    monkeypatch.setenv("RISKLOOP_TOPICS__ALERTS", "risk.alerts")
    monkeypatch.setenv("RISKLOOP_AUTH__JWKS", "https://sso.example.gov.cn/jwks.json")
    monkeypatch.setenv("RISKLOOP_AUTH__ALGORITHMS", '["RS256"]')
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.bootstrap_servers == "10.0.0.5:9192"
    assert s.topics.alerts == "risk.alerts"
    assert s.jwks_source == "https://sso.example.gov.cn/jwks.json"
    assert s.auth.algorithms == ("RS256",)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RISKLOOP_AUTH__ALGORITHMS", '["none"]'),
        ("RISKLOOP_AUTH__ALGORITHMS", '["HS256"]'),
        ("RISKLOOP_AUTH__ALGORITHMS", "[]"),
        ("RISKLOOP_AUTH__JWKS", "http://sso/jwks.json"),
    ],
)
def test_unsafe_auth_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_the_dev_jwks_is_the_default(tmp_path: Path) -> None:
    s = Settings(_env_file=None, dev={"state_dir": tmp_path})  # type: ignore[call-arg]
    assert s.jwks_source == str(tmp_path / "auth" / "jwks.json")


def test_settings_are_frozen(settings: Settings) -> None:
    with pytest.raises(ValidationError):
        settings.web_port = 1  # type: ignore[misc]
    assert settings.with_overrides(web_port=7000).web_port == 7000
    assert settings.web_port == 6066


def test_readme_configuration_table_matches_settings() -> None:
    block = README.split("<!-- settings-table:start -->")[1].split("<!-- settings-table:end -->")[0]
    assert block.strip() == settings_table().strip()


def test_ci_runs_the_readme_test_command() -> None:
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    commands = re.findall(r"^scripts/\S+\.sh", README, flags=re.M)
    assert "scripts/test.sh" in commands
    assert "scripts/demo.sh" in commands
    assert "exec scripts/test.sh" in ci


def test_no_module_reads_the_environment_itself() -> None:
    offenders = []
    for pkg in ("streams", "models", "rules", "schemas", "sinks", "config", "geo", "loop"):
        for path in Path(PROJECT_ROOT, pkg).rglob("*.py"):
            if re.search(r"os\.environ\b|os\.getenv\(", path.read_text(encoding="utf-8")):
                offenders.append(str(path.relative_to(PROJECT_ROOT)))
    # settings reads it (through pydantic-settings); the demo passes it on to its worker
    allowed = {"config/settings.py", "streams/demo.py"}
    assert set(offenders) <= allowed, offenders


def test_unknown_command_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["no-such-command"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2
    assert len(err) == 1
    assert "No such command" in err[0]
    assert "Traceback" not in err[0]
