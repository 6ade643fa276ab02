"""Control records a sender may publish: every one ends as a status, none stops the worker.

Each poison goes through ``streams.control.apply`` as the control plane calls it (no broker:
the status producer is absent); the test asserts the refusal, its reason, the metric, and that
the active version is still the one that ran before.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from config.settings import PROJECT_ROOT
from streams import control
from streams.control_keys import publication_key

if TYPE_CHECKING:
    from streams.app import RiskLoopApp

PACK = PROJECT_ROOT / "rules/packs/complaints.yaml"


def pack_record(mutate: Any = None, **fields: Any) -> bytes:
    """A publication of the shipped complaints pack at 9.0.0, changed by ``mutate(doc)``."""
    doc = yaml.safe_load(PACK.read_text(encoding="utf-8"))
    doc["version"] = fields.pop("version", "9.0.0")
    if mutate is not None:
        mutate(doc)
    text = yaml.safe_dump(doc, allow_unicode=True)
    record = {
        "name": doc["name"],
        "version": doc["version"],
        "content_hash": "",
        "yaml": text,
        "published_by": "test",
        "published_at": datetime.now(UTC).isoformat(),
        **fields,
    }
    return json.dumps(record).encode()


def first_example_event_time(value: str) -> Any:
    def mutate(doc: dict[str, Any]) -> None:
        doc["rules"][0]["examples"][0]["events"][1]["event_time"] = value

    return mutate


async def run(app: RiskLoopApp, handler: Any, key: str, value: bytes | None) -> dict[str, Any]:
    status = await control.apply(app.worker, handler, key.encode(), value)
    assert status is not None
    return status


def refused(app: RiskLoopApp, kind: str) -> float:
    metrics = app.worker.runtime.metrics
    return (
        metrics.registry.get_sample_value(
            "riskloop_hotloads_total", {"kind": kind, "status": "refused"}
        )
        or 0.0
    )


@pytest.mark.parametrize(
    "event_time", ["+999999999999999999999d", "+99999999999999d", "+" + "9" * 5000 + "s"]
)
async def test_a_pack_whose_example_time_overflows_is_refused(
    app: RiskLoopApp, event_time: str
) -> None:
    before = app.worker.runtime.packs.active["complaints"].version
    value = pack_record(first_example_event_time(event_time))
    status = await run(app, control.apply_rulepack, "complaints", value)
    assert status["status"] == "refused"
    assert "duration" in status["reason"]
    assert app.worker.runtime.packs.active["complaints"].version == before
    assert refused(app, "rulepack") == 1


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 100_000,
        (
            '{"type": "FeatureCollection", "name": "deep", "version": "1", "features": [{"a": '
            + '{"a": ' * 50_000
            + "1"
            + "}" * 50_001
            + "]}"
        ).encode(),
    ],
    ids=["brackets", "deep-feature"],
)
async def test_a_fence_set_nested_too_deep_is_refused(app: RiskLoopApp, payload: bytes) -> None:
    before = dict(app.worker.runtime.fence_sets)
    status = await run(app, control.apply_fenceset, "deep", payload)
    assert status["status"] == "refused"
    assert "nested" in status["reason"]
    assert app.worker.runtime.fence_sets == before


async def test_any_exception_in_a_handler_is_a_refusal_with_its_class(app: RiskLoopApp) -> None:
    def apply_rulepack(app: RiskLoopApp, name: str, value: bytes | None) -> None:
        raise RecursionError("maximum recursion depth exceeded\nwhile doing something")

    status = await run(app, apply_rulepack, "complaints", b"{}")
    assert status["status"] == "refused"
    assert status["reason"] == "RecursionError: maximum recursion depth exceeded"
    assert refused(app, "rulepack") == 1


async def test_a_tombstone_does_not_remove_a_shipped_pack(app: RiskLoopApp) -> None:
    shipped = app.worker.runtime.packs.active["complaints"].version
    status = await run(app, control.apply_rulepack, "complaints", None)
    assert status["status"] != "removed"
    assert app.worker.runtime.packs.active["complaints"].version == shipped


async def test_a_tombstone_withdraws_a_published_version_back_to_the_shipped_one(
    app: RiskLoopApp,
) -> None:
    shipped = app.worker.runtime.packs.active["complaints"].version
    await run(app, control.apply_rulepack, "complaints", pack_record())
    assert app.worker.runtime.packs.active["complaints"].version == "9.0.0"
    status = await run(app, control.apply_rulepack, "complaints", None)
    assert (status["status"], status["version"]) == ("accepted", shipped)
    assert "shipped" in status["reason"]
    assert app.worker.runtime.packs.active["complaints"].version == shipped


async def test_a_record_under_another_key_is_refused(app: RiskLoopApp) -> None:
    status = await run(app, control.apply_rulepack, "other", pack_record())
    assert status["status"] == "refused"
    assert "other" not in app.worker.runtime.packs.active


async def test_a_rollback_must_name_the_active_version(app: RiskLoopApp) -> None:
    active = app.worker.runtime.packs.active["complaints"].version
    value = pack_record(version="0.0.1", rollback_of="7.7.7")
    status = await run(app, control.apply_rulepack, "complaints", value)
    assert status["status"] == "refused"
    assert "rollback" in status["reason"]
    assert app.worker.runtime.packs.active["complaints"].version == active


async def test_a_real_rollback_is_accepted(app: RiskLoopApp) -> None:
    shipped = app.worker.runtime.packs.active["complaints"].version
    assert (await run(app, control.apply_rulepack, "complaints", pack_record()))["status"] == (
        "accepted"
    )
    back = pack_record(version=shipped, rollback_of="9.0.0")
    assert (await run(app, control.apply_rulepack, "complaints", back))["status"] == "accepted"
    assert app.worker.runtime.packs.active["complaints"].version == shipped


def model_record(**fields: Any) -> bytes:
    record = {
        "name": "equipment-anomaly",
        "factory": "equipment-anomaly",
        "version": "v9",
        "published_by": "test",
        "published_at": datetime.now(UTC).isoformat(),
        **fields,
    }
    return json.dumps(record).encode()


@pytest.fixture
def with_models(app: RiskLoopApp) -> RiskLoopApp:
    from models.worker_models import build_models

    app.worker.runtime.models = build_models(app.worker.runtime.settings)
    return app


async def test_a_model_with_an_infinite_param_is_refused(with_models: RiskLoopApp) -> None:
    app = with_models
    before = app.worker.runtime.models.versions()
    value = model_record().replace(b'"version"', b'"params": {"span": 1e400}, "version"')
    status = await run(app, control.apply_model, "equipment-anomaly", value)
    assert status["status"] == "refused"
    assert "finite" in status["reason"]
    assert app.worker.runtime.models.versions() == before


async def test_a_model_published_in_the_future_is_refused(with_models: RiskLoopApp) -> None:
    app = with_models
    before = app.worker.runtime.models.versions()
    value = model_record(published_at="9999-12-31T00:00:00+00:00")
    status = await run(app, control.apply_model, "equipment-anomaly", value)
    assert status["status"] == "refused"
    assert "future" in status["reason"]
    assert app.worker.runtime.models.versions() == before


def silence_record(days: float, **fields: Any) -> bytes:
    now = datetime.now(UTC)
    ends = datetime.max.replace(tzinfo=UTC) if days > 3650 else now + timedelta(days=days)
    record = {
        "silence_id": "s1",
        "source": "complaints",
        "reason": "drill",
        "creator": "zhang",
        "starts_at": now.isoformat(),
        "ends_at": ends.isoformat(),
        **fields,
    }
    return json.dumps(record).encode()


async def test_a_silence_longer_than_the_api_allows_is_refused(app: RiskLoopApp) -> None:
    status = await run(app, control.apply_silence, "s1", silence_record(8000 * 365))
    assert status["status"] == "refused"
    assert "longer than the allowed" in status["reason"]
    assert app.worker.runtime.silences == []


async def test_a_silence_within_the_limit_is_accepted(app: RiskLoopApp) -> None:
    status = await run(app, control.apply_silence, "s1", silence_record(2))
    assert status["status"] == "accepted"
    assert [s.silence_id for s in app.worker.runtime.silences] == ["s1"]


async def test_a_silence_under_another_key_is_refused(app: RiskLoopApp) -> None:
    status = await run(app, control.apply_silence, "other", silence_record(2))
    assert status["status"] == "refused"
    assert app.worker.runtime.silences == []


async def test_a_pack_nested_too_deep_is_refused(app: RiskLoopApp) -> None:
    before = app.worker.runtime.packs.active["complaints"].version
    record = json.loads(pack_record())
    record["yaml"] = "[" * 100_000
    status = await run(app, control.apply_rulepack, "complaints", json.dumps(record).encode())
    assert status["status"] == "refused"
    assert app.worker.runtime.packs.active["complaints"].version == before


async def test_a_record_that_is_not_json_is_refused(app: RiskLoopApp) -> None:
    for handler in (control.apply_rulepack, control.apply_model, control.apply_silence):
        status = await run(app, handler, "x", b"\xff not json")
        assert status["status"] == "refused"


async def test_a_pack_under_its_version_key_is_accepted(app: RiskLoopApp) -> None:
    from rules.compiler import load_pack_text

    record = json.loads(pack_record())
    record["content_hash"] = load_pack_text(record["yaml"], origin="test").content_hash
    key = publication_key("complaints", "9.0.0", record["content_hash"])
    status = await run(app, control.apply_rulepack, key, json.dumps(record).encode())
    assert (status["name"], status["status"]) == ("complaints", "accepted")
    assert app.worker.runtime.packs.active["complaints"].version == "9.0.0"


async def test_a_pack_under_another_versions_key_is_refused_under_its_name(
    app: RiskLoopApp,
) -> None:
    record = json.loads(pack_record())
    record["content_hash"] = "sha256:" + "00" * 32
    key = publication_key("complaints", "8.0.0", record["content_hash"])
    status = await run(app, control.apply_rulepack, key, json.dumps(record).encode())
    assert status["status"] == "refused"
    assert "neither" in status["reason"]
    assert status["name"] == "complaints"  # one status record per pack, not one per key
    assert app.worker.runtime.packs.active["complaints"].version != "9.0.0"


async def test_a_tombstone_under_a_version_key_changes_nothing(app: RiskLoopApp) -> None:
    before = app.worker.runtime.packs.active["complaints"].version
    key = publication_key("complaints", before, "sha256:" + "00" * 32).encode()
    for handler in (control.apply_rulepack, control.apply_fenceset):
        assert await control.apply(app.worker, handler, key, None) is None
    assert app.worker.runtime.packs.active["complaints"].version == before
    assert refused(app, "rulepack") == 0
