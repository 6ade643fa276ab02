"""A model published with ``shadow`` scores beside the live one; its verdicts are only counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.errors import PublicationRejected
from models.publication import ModelPublication
from models.worker_models import build_models
from schemas.records import EquipmentReading

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def reading(i: int) -> EquipmentReading:
    return EquipmentReading(
        event_id=f"r{i}",
        event_time=T0 + timedelta(minutes=i),
        equipment_code="E1",
        equipment_type="elevator",
        uscc="91330106MA2AXXXX0X",
        metrics={"current": 12.0 + (i % 5) * 0.1, "vibration": 0.3},
    )


def test_shadow_candidate_scores_beside_the_live_model(settings) -> None:  # type: ignore[no-untyped-def]
    models = build_models(settings)
    live = models.versions()["equipment-anomaly"]
    models.add(
        ModelPublication(
            name="equipment-anomaly",
            factory="equipment-anomaly",
            version="cand-1",
            params={"warmup": 5},
            published_by="t",
            shadow=True,
        )
    )
    scores = [s for i in range(20) for s in models.process("equipment", reading(i))]
    assert models.versions()["equipment-anomaly"] == live, (
        "a shadow never replaces the live version"
    )
    modes = {s.mode for s in scores}
    assert modes == {"active", "shadow"}
    assert {s.version for s in scores if s.mode == "shadow"} == {"cand-1"}
    stats = models.shadow_stats("equipment-anomaly")
    assert stats["scored"] == 20


def test_shadow_needs_a_live_model(settings) -> None:  # type: ignore[no-untyped-def]
    models = build_models(settings)
    with pytest.raises(PublicationRejected):
        models.add(
            ModelPublication(
                name="nope", factory="equipment-anomaly", version="1", published_by="t", shadow=True
            )
        )
