"""The dead-letter topic's originals for whoever holds the key: the worker seals with it, the
CLI, the benchmark and the tests open with it (:mod:`schemas.sealing`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.ingest import original_of
from schemas.records import DeadLetter
from schemas.sealing import Sealer

if TYPE_CHECKING:
    from config.settings import Settings


def sealer_of(settings: Settings) -> Sealer | None:
    """The sealer under the configured (or the dev stack's) dead-letter key; None without one."""
    secret = settings.deadletter_secret
    return Sealer(secret.get_secret_value()) if secret is not None else None


def original_value(settings: Settings, value: bytes) -> bytes:
    """The original value bytes of the dead-letter record ``value`` (as read from the topic),
    opened with ``settings``' key when sealed; plain records need none."""
    return original_of(DeadLetter.model_validate_json(value), sealer_of(settings))[1]
