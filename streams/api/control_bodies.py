"""Request bodies of the control-plane writes besides packs and silences: fence sets, models,
working calendars. Pure, like ``streams.api.bodies``: each returns what the CLI would publish
for the same file or flags, or an :class:`ApiError` a person can act on (400 unreadable, 422
readable but refused), so nothing reaches the control topic that a worker would refuse for
its content.

>>> fence_set_body(b"[]")
Traceback (most recent call last):
...
streams.api.bodies.ApiError: fence set rejected: fence set must be a GeoJSON FeatureCollection object
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from geo.fence_sets import CompiledFenceSet, parse_fence_set
from loop.calendar import YearCalendar, parse_year
from schemas.errors import RiskLoopError
from schemas.problems import readable
from streams.api.bodies import ApiError, Name, text_of

if TYPE_CHECKING:
    from datetime import datetime

    from models.publication import ModelPublication


def fence_set_body(raw: bytes) -> CompiledFenceSet:
    """A GeoJSON fence set, compiled as a worker compiles it (``riskloop geo publish``)."""
    text_of(raw)  # 400 if not UTF-8, like every text body
    try:
        return parse_fence_set(raw)
    except RiskLoopError as exc:
        raise ApiError(422, f"fence set rejected: {exc}") from exc


def calendar_body(raw: bytes) -> YearCalendar:
    """A year's 放假安排 notice (YAML or JSON), as ``riskloop calendar publish`` reads it."""
    text_of(raw)
    try:
        return parse_year(raw, "request body")
    except RiskLoopError as exc:
        raise ApiError(422, str(exc)) from exc


class ModelRequest(BaseModel):
    """``riskloop models publish``'s arguments as a JSON body; the server adds who and when."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(min_length=1)
    factory: Name | None = Field(None, min_length=1)
    preset: Name | None = Field(None, min_length=1)
    """A tested setting by name (models/presets.py): its factory, and its params under
    ``params``; resolved here, so workers receive a plain factory and params."""
    version: Name = Field(min_length=1)
    params: dict[str, JsonValue] = Field(default_factory=dict)
    shadow: bool = False


def model_body(body: dict[str, Any], *, who: str, now: datetime) -> ModelPublication:
    """A model publication that builds and scores its probe event (what a worker checks)."""
    from models.errors import ModelError
    from models.presets import resolve
    from models.publication import ModelPublication, build

    try:
        req = ModelRequest.model_validate(body)
        factory, params = resolve(req.factory, req.preset, req.params)
        pub = ModelPublication(
            name=req.name,
            factory=factory,
            version=req.version,
            params=params,
            shadow=req.shadow,
            published_by=who,
            published_at=now,
        )
    except ValidationError as exc:
        raise ApiError(422, f"model rejected: {readable(exc)}") from exc
    except ModelError as exc:  # an unknown preset, or one for another factory
        raise ApiError(422, f"model rejected: {exc}") from exc
    try:
        build(pub)
    except ModelError as exc:
        raise ApiError(422, str(exc)) from exc
    return pub
