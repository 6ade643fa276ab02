"""The shipped example (config/notify.yaml) and the README's example are valid configs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loop.notify.config import SECRET_FIELDS, NotifyConfigError, load_config, parse_config
from loop.notify.routing import resolve

ROOT = Path(__file__).resolve().parents[4]


def secrets_named(text: str) -> dict[str, str]:
    names = re.findall(rf"\b(?:{'|'.join(SECRET_FIELDS)}): ([A-Za-z0-9_]+)", text)
    return {n: "x" for n in names}


def test_the_shipped_example_loads_and_routes_escalations_to_sms_and_mail() -> None:
    path = ROOT / "config" / "notify.yaml"
    cfg = load_config(path, secrets_named(path.read_text(encoding="utf-8")))
    labels = {"kind": "sign_escalation", "audience": "supervisor", "department": "hz_market"}
    assert [m.receiver for m in resolve(cfg.route, labels)] == ["supervisor_sms", "supervisor_mail"]
    red = {"kind": "warning", "level": "red", "department": "hz_market", "region": "330106"}
    (m,) = resolve(cfg.route, red)
    assert (m.receiver, m.group_by, m.group_wait) == ("hz_market", ("subject",), 5.0)
    with pytest.raises(NotifyConfigError, match="RISKLOOP_NOTIFY_SECRETS"):
        load_config(path, {})


def test_the_readme_example_is_a_valid_config() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Notifications", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    cfg = parse_config(block, secrets_named(block))
    assert len(cfg.receivers) == 5
