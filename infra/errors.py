"""Errors of the local infrastructure: each message is one line a person can act on."""

from __future__ import annotations

from schemas.errors import RiskLoopError


class InfraError(RiskLoopError):
    """A local service could not be installed, started, reached or stopped."""
