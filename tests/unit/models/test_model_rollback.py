"""Model rollback: what workers accept (WorkerModels.add) and what the CLI republishes."""

from __future__ import annotations

import contextlib
import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest

from config.settings import Settings
from models.errors import PublicationRejected
from models.publication import ModelPublication
from models.worker_models import SHIPPED_AT, WorkerModels, build_models
from streams import publish
from streams.control_keyring import load_keyring

from .conftest import equipment_event

if TYPE_CHECKING:
    from pathlib import Path

NAME = "equipment-anomaly"
T = datetime(2025, 5, 1, tzinfo=UTC)


def _pub(version: str, minutes: int, **update: Any) -> ModelPublication:
    pub = ModelPublication(
        name=NAME,
        factory=NAME,
        version=version,
        published_by="test",
        published_at=T + timedelta(minutes=minutes),
        params={"warmup": 10, "min_scores": 10},
    )
    return pub.model_copy(update=update)


def _learn(models: WorkerModels, n: int = 30) -> None:
    rng = random.Random(0)
    for i in range(n):
        list(models.process("equipment", equipment_event(i, rng)))


def test_rollback_brings_back_the_previous_version_with_its_state() -> None:
    models = WorkerModels()
    models.add(_pub("1", 0))
    _learn(models)
    seen = models.registry.get(NAME).units["LIFT-1"].seen
    models.add(_pub("2", 1))
    assert models.versions()[NAME] == "2"
    assert not models.registry.get(NAME).units
    models.add(_pub("1", 2, rollback_of="2"))
    assert models.versions()[NAME] == "1"
    assert models.registry.get(NAME).units["LIFT-1"].seen == seen
    assert models.registry.publication(NAME).rollback_of == "2"


def test_an_older_version_needs_rollback_of() -> None:
    models = WorkerModels()
    models.add(_pub("1", 0))
    models.add(_pub("2", 1))
    with pytest.raises(PublicationRejected, match="models rollback"):
        models.add(_pub("1", 2))
    assert models.versions()[NAME] == "2"


def test_a_replayed_older_record_is_refused_and_the_live_version_is_a_no_op() -> None:
    models = WorkerModels()
    models.add(_pub("2", 5))
    live = models.registry.get(NAME)
    with pytest.raises(PublicationRejected, match="published before"):
        models.add(_pub("1", 1))
    models.add(_pub("2", 9, rollback_of="3"))  # already live: nothing rebuilt
    assert models.registry.get(NAME) is live


def test_restored_state_survives_the_replay_of_older_history() -> None:
    """History v1, v2 on the topic; a snapshot of v2 restored; the replay must not rebuild."""
    running = build_models(Settings(_env_file=None))  # type: ignore[call-arg]
    running.add(_pub("1", 0))
    running.add(_pub("2", 1))
    _learn(running)
    blob = running.snapshot({}, key=b"k" * 32)[NAME]
    restarted = build_models(Settings(_env_file=None))  # type: ignore[call-arg]
    assert restarted.registry.publication(NAME).published_at == SHIPPED_AT
    restarted.restore(NAME, blob, key=b"k" * 32)
    for old in (_pub("1", 0), _pub("2", 1)):
        with contextlib.suppress(PublicationRejected):  # refused: older than the snapshot
            restarted.add(old)
    assert restarted.versions()[NAME] == "2"
    assert restarted.registry.get(NAME).units["LIFT-1"].seen > 0


@pytest.fixture
def topic(monkeypatch: pytest.MonkeyPatch) -> tuple[list[tuple[str, bytes | None]], list[Any]]:
    """control.models as a list; ``send`` appends to it (no broker)."""
    records: list[tuple[str, bytes | None]] = []
    sent: list[Any] = []

    def send(_s: Settings, _topic: str, key: str, value: bytes | None) -> None:
        records.append((key, value))
        sent.append(ModelPublication.model_validate_json(value or b""))

    monkeypatch.setattr(publish, "read_signed", lambda _s, _t: iter(list(records)))
    monkeypatch.setattr(publish, "send", send)
    return records, sent


def test_cli_rollback_skips_unbuildable_versions_and_goes_back_step_by_step(
    topic: tuple[list[tuple[str, bytes | None]], list[Any]],
) -> None:
    records, sent = topic
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    bad = _pub("3", 2).model_copy(update={"params": {"warmup": -1}})
    for pub in (_pub("1", 0), _pub("2", 1), bad):
        records.append((NAME, pub.model_dump_json().encode()))
    records.append(("other-model", b"not json"))
    first = publish.rollback_model(s, NAME, "li")
    assert (first.version, first.rollback_of, first.published_by) == ("1", "2", "li")
    assert first.published_at > _pub("2", 1).published_at
    second = publish.rollback_model(s, NAME, "li")  # one version left: the shipped default
    assert (second.version, second.rollback_of) == ("equipment-anomaly-v1", "1")
    records.clear()
    with pytest.raises(publish.ConfigError, match="no published versions"):
        publish.rollback_model(s, NAME, "li")


def test_active_models_keeps_the_version_a_refusal_did_not_replace(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s = Settings(_env_file=None, dev={"state_dir": tmp_path})  # type: ignore[call-arg, arg-type]
    ring = load_keyring(s)

    def status(status: str, version: str, reason: str = "", *, signed: bool = True) -> Any:
        body = {
            "worker": "w1",
            "kind": "model",
            "name": NAME,
            "version": version,
            "status": status,
            "reason": reason,
            "at": "2025-05-01T00:00:00+00:00",
        }
        key, value = f"w1|model|{NAME}".encode(), publish.json.dumps(body).encode()
        headers = ring.sign(s.topics.status, key, value) if signed else None
        return SimpleNamespace(key=lambda: key, value=lambda: value, headers=lambda: headers)

    records = [
        status("active", "1"),
        status("accepted", "2"),
        status("refused", "", "bad"),
        status("accepted", "666", signed=False),
    ]  # forged: not believed
    monkeypatch.setattr(publish, "read_records", lambda _s, _t: iter(records))
    rows = publish.active_models(s)
    assert [(r["worker"], r["version"], r["note"]) for r in rows] == [("w1", "2", "refused: bad")]
