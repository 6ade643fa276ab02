"""Errors the models package raises on purpose, each with a message a person can act on."""

from __future__ import annotations

from schemas.errors import RiskLoopError


class ModelError(RiskLoopError):
    """A model was asked for something it cannot do (unknown label, wrong source, bad params)."""


class UnknownFactory(ModelError):
    """No factory of that name is registered."""


class UnknownPreset(ModelError):
    """No preset of that name (models/presets.py), or one that does not fit the factory named."""


class IncompatibleSnapshot(ModelError):
    """A snapshot was taken by another factory or another state version than the one restoring it."""


class CorruptSnapshot(ModelError):
    """A snapshot's bytes do not match its content hash, or are not a snapshot at all."""


class TamperedSnapshot(CorruptSnapshot):
    """A snapshot's signature does not verify under this worker's snapshot key: never unpickled."""


class PublicationRejected(ModelError):
    """A published model version failed validation; the active version stays in place."""
