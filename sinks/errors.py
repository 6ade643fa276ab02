"""Errors of the sinks: every one derives from :class:`~schemas.errors.RiskLoopError`.

A sink never drops a record, so most failures here are *kept and retried*, not raised to the
agent: :class:`SinkWriteFailed` is what one flush attempt raises when the target is away, and
the batch it names is still held (memory and outbox) when it is raised.
"""

from __future__ import annotations

from schemas.errors import RiskLoopError


class SinkError(RiskLoopError):
    """Base of the sinks' errors."""


class SinkWriteFailed(SinkError):
    """One flush attempt failed; the batch is kept and will be written again."""


class SinkClosed(SinkError):
    """A record was added to a sink that is not started (or already stopped)."""


class UnsupportedRecord(SinkError):
    """A sink was given a record type it does not store (a wiring bug, not bad data)."""


class OutboxError(SinkError):
    """The local outbox journal could not be written or read (disk full, corrupt file...)."""


class MigrationFailed(SinkError):
    """``alembic upgrade head`` failed on the SQL store."""


class StoreError(SinkError):
    """A query on the SQL store or the Redis views failed (target away, schema missing...)."""
