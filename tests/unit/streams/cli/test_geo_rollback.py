"""`riskloop geo rollback`: back to the previous valid version, the shipped file being the base."""

from __future__ import annotations

import json

import pytest

from config.settings import PROJECT_ROOT, Settings
from geo.fence_sets import parse_fence_set
from schemas.errors import ConfigError
from streams import publish
from streams.control_keys import publication_key

SHIPPED = PROJECT_ROOT / "config" / "geofences" / "liverpool_route14.geojson"


def version(v: str) -> bytes:
    doc = json.loads(SHIPPED.read_text(encoding="utf-8"))
    doc["version"] = v
    return json.dumps(doc).encode()


def key_of(payload: bytes) -> str:
    fences = parse_fence_set(payload)
    return publication_key(fences.name, fences.version, fences.content_hash)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bytes | None]]:
    out: list[tuple[str, bytes | None]] = []
    monkeypatch.setattr(publish, "send", lambda s, topic, key, value: out.append((key, value)))
    return out


def test_one_published_version_rolls_back_to_the_shipped_file(
    settings: Settings, sent: list[tuple[str, bytes | None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        publish, "read_signed", lambda s, t: iter([("liverpool-route14", version("v2"))])
    )
    assert publish.rollback_fenceset(settings, "liverpool-route14") == ("v2", "2026-01-26.1")
    assert sent == [(key_of(SHIPPED.read_bytes()), SHIPPED.read_bytes())]


def test_versions_under_their_own_keys_and_a_withdrawal(
    settings: Settings, sent: list[tuple[str, bytes | None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history reads version keys and the bare name alike; a withdrawal (a tombstone under
    the name) starts it afresh, a tombstone under a version key does not."""
    name = "liverpool-route14"
    v1, v2, v3, v4 = (version(v) for v in ("v1", "v2", "v3", "v4"))
    history = [
        (name, v1),
        (key_of(v2), v2),
        (name, None),
        (key_of(v3), v3),
        (key_of(v4), v4),
        (key_of(v2), None),
        ("other-set", version("v9")),
    ]
    monkeypatch.setattr(publish, "read_signed", lambda s, t: iter(history))
    assert publish.rollback_fenceset(settings, name) == ("v4", "v3")
    assert sent == [(key_of(v3), v3)]


def test_a_version_under_a_key_not_its_own_is_no_history(
    settings: Settings, sent: list[tuple[str, bytes | None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "liverpool-route14"
    v2, v3 = version("v2"), version("v3")
    wrong = key_of(v3).replace("#", "#0")[:-1]  # v3's name and version, another digest
    history = [(key_of(v2), v2), (wrong, v3)]
    monkeypatch.setattr(publish, "read_signed", lambda s, t: iter(history))
    assert publish.rollback_fenceset(settings, name) == ("v2", "2026-01-26.1")


def test_broken_versions_are_skipped(
    settings: Settings, sent: list[tuple[str, bytes | None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    history = [
        ("liverpool-route14", version("v2")),
        ("liverpool-route14", b"{broken"),
        ("liverpool-route14", version("v3")),
    ]
    monkeypatch.setattr(publish, "read_signed", lambda s, t: iter(history))
    assert publish.rollback_fenceset(settings, "liverpool-route14") == ("v3", "v2")


def test_unknown_set_is_a_clear_error(
    settings: Settings, sent: list[tuple[str, bytes | None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publish, "read_signed", lambda s, t: iter([]))
    with pytest.raises(ConfigError, match="no earlier valid version"):
        publish.rollback_fenceset(settings, "nope")
    assert sent == []
