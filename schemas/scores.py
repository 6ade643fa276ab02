"""What a model produces per event: a score, whether it alerts, and the features it used.

The features travel with the alert so that a disposition days later can teach the model the
label for exactly what it saw (``learn_label``). A contract between ``models/`` (which scores)
and ``loop/`` (which raises warnings from scores), so it lives here in the bottom layer and
``loop/`` never imports a model.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from schemas.records import Level


class ModelScore(BaseModel):
    """One model's verdict on one event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    version: str
    content_hash: str = ""
    source: str
    entity: str
    uscc: str | None = None
    region_code: str | None = None
    event_id: str
    event_time: datetime
    score: float
    threshold: float
    alert: bool
    warmed_up: bool
    level: Level = Level.blue
    item_code: str = ""
    mode: str = "active"  # "active" | "shadow"
    features: dict[str, float] = Field(default_factory=dict)
    label: str | None = None  # classifiers: the predicted class
