"""Which complaints the inspection model counts near premises, and where the count comes from
(models/worker_models.py): the place of a food or sanitation complaint, through ``process`` in
one copy of the models, through ``note_nearby`` only in a worker (streams/nearby.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from models.inspections import InspectionRisk
from models.worker_models import build_models
from schemas.records import Complaint

if TYPE_CHECKING:
    from config.settings import Settings
    from models.worker_models import WorkerModels

LAT, LON = 30.2741, 120.1551
AT = datetime(2026, 3, 1, tzinfo=UTC)
USCC = "91330106MA27XXXX0X"


BASE = {"event_id": "c-1", "event_time": AT, "channel": "12345", "text": "后厨有老鼠"}


def _complaint(category: str | None, uscc: str | None = None) -> Complaint:
    return Complaint.model_validate(
        {**BASE, "category": category, "uscc": uscc, "lat": LAT, "lon": LON}
    )


def _model(models: WorkerModels) -> InspectionRisk:
    model = models.registry.get("inspection-risk")
    assert isinstance(model, InspectionRisk)
    return model


@pytest.mark.parametrize(
    ("category", "counted"),
    [
        ("食品安全", 1),
        ("卫生计生", 1),
        ("sanitation", 1),
        (None, 1),
        ("特种设备", 0),
        ("消费维权", 0),
    ],
)
def test_one_copy_counts_the_place_of_food_and_sanitation_complaints_only(
    settings: Settings, category: str | None, counted: int
) -> None:
    models = build_models(settings)
    list(models.process("complaints", _complaint(category)))
    assert _model(models).nearby(LAT, LON, AT) == counted


def test_in_a_worker_the_place_comes_only_from_its_copy(settings: Settings) -> None:
    models = build_models(settings)
    models.nearby_apart = True
    list(models.process("complaints", _complaint("食品安全", uscc=USCC)))
    model = _model(models)
    assert model.nearby(LAT, LON, AT) == 0  # not counted on the partition that took it in
    assert model.history[USCC]["complaints"] == 1  # its USCC is, there (the USCC's partition)
    before = models.changes
    models.note_nearby(AT, LAT, LON)
    assert model.nearby(LAT, LON, AT) == 1
    assert models.changes > before  # a changed model is snapshotted at the next checkpoint
