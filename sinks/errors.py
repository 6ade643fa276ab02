"""Errors of the sinks: every one derives from :class:`~schemas.errors.RiskLoopError`.

A sink never drops a record, so most failures here are *kept and retried*, not raised to the
agent: :class:`SinkWriteFailed` is what one flush attempt raises when the target is away, and
the batch it names is still held (memory and outbox) when it is raised.

The one failure an agent must see is a full local disk (:class:`OutboxFull`): ``add`` could not
make the record durable, so the event must not be acknowledged. :func:`storage_full` is the one
test for it, wherever the error was raised or re-wrapped: the agents' boundary pauses the
partition and retries (streams/pipeline.py), and a stage that skips one failed item must
re-raise it instead (streams/task_stage.py).
"""

from __future__ import annotations

import errno
import sqlite3

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


class OutboxFull(OutboxError):
    """The outbox's disk (or quota) is full: nothing was written; the same call succeeds once
    there is room again."""


class OutboxCorrupt(OutboxError):
    """The outbox file is not a readable SQLite database (overwritten, truncated): it must be
    moved aside (:func:`sinks.outbox.quarantine`), retrying will not help."""


class MigrationFailed(SinkError):
    """``alembic upgrade head`` failed on the SQL store."""


class StoreError(SinkError):
    """A query on the SQL store or the Redis views failed (target away, schema missing...)."""


def storage_full(exc: BaseException) -> bool:
    """True when ``exc``, or anything in its cause/context chain, says a local disk is full.

    >>> storage_full(OSError(errno.ENOSPC, "No space left on device"))
    True
    >>> try:
    ...     try:
    ...         raise sqlite3.OperationalError("database or disk is full")
    ...     except sqlite3.Error as exc:
    ...         raise RuntimeError("cannot append") from exc
    ... except RuntimeError as wrapped:
    ...     storage_full(wrapped)
    True
    >>> storage_full(ValueError("x")), storage_full(OutboxCorrupt("file is not a database"))
    (False, False)
    """
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OutboxFull):
            return True
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        code = getattr(cause, "sqlite_errorcode", None) or 0
        if isinstance(cause, sqlite3.Error) and code & 0xFF == sqlite3.SQLITE_FULL:
            return True
        text = str(cause).lower()
        if "database or disk is full" in text or "no space left" in text:
            return True
        cause = cause.__cause__ or cause.__context__
    return False
