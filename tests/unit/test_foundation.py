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
    monkeypatch.setenv("RISKLOOP_API_TOKENS__OPERATOR", "s3cret")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.bootstrap_servers == "10.0.0.5:9192"
    assert s.topics.alerts == "risk.alerts"
    assert s.api_tokens.operator.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(s)


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
    assert "scripts/test.sh" in commands and "scripts/demo.sh" in commands
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
    assert len(err) == 1 and "No such command" in err[0] and "Traceback" not in err[0]
