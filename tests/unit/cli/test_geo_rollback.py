"""`riskloop geo rollback`: back to the previous valid version, the shipped file being the base."""

from __future__ import annotations

import json

import pytest

from config.settings import PROJECT_ROOT, Settings
from schemas.errors import ConfigError
from streams import publish

SHIPPED = PROJECT_ROOT / "config" / "geofences" / "liverpool_route14.geojson"


def version(v: str) -> bytes:
    doc = json.loads(SHIPPED.read_text(encoding="utf-8"))
    doc["version"] = v
    return json.dumps(doc).encode()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bytes | None]]:
    out: list[tuple[str, bytes | None]] = []
    monkeypatch.setattr(publish, "send", lambda s, topic, key, value: out.append((key, value)))
    return out


def test_one_published_version_rolls_back_to_the_shipped_file(
    settings: Settings, sent: list[tuple[str, bytes | None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        publish, "read_all", lambda s, t: iter([("liverpool-route14", version("v2"))])
    )
    assert publish.rollback_fenceset(settings, "liverpool-route14") == ("v2", "2026-01-26.1")
    assert sent == [("liverpool-route14", SHIPPED.read_bytes())]


def test_broken_versions_are_skipped(
    settings: Settings, sent: list[tuple[str, bytes | None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    history = [("liverpool-route14", version("v2")), ("liverpool-route14", b"{broken"),
               ("liverpool-route14", version("v3"))]  # fmt: skip
    monkeypatch.setattr(publish, "read_all", lambda s, t: iter(history))
    assert publish.rollback_fenceset(settings, "liverpool-route14") == ("v3", "v2")


def test_unknown_set_is_a_clear_error(
    settings: Settings, sent: list[tuple[str, bytes | None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publish, "read_all", lambda s, t: iter([]))
    with pytest.raises(ConfigError, match="no earlier valid version"):
        publish.rollback_fenceset(settings, "nope")
    assert sent == []
