"""The notification queue in the task store: claim due rows, record how each attempt went.

Rows arrive through the SQL sink (insert-or-ignore by intent id, so a replay adds nothing and
never resets a row already sent). The sender of each worker claims due rows with a lease, an
``UPDATE … WHERE`` the database serialises: two workers never hold the same row, and a worker
that died mid-send leaves rows whose lease simply runs out. Every attempt, sent or failed, is a
row of ``notification_attempts`` (the audit trail), written in the same transaction as the
row's new state. Synchronous (SQLAlchemy): the sender calls it in a thread.

Times: ``now`` is the worker's clock (it may run fast in drills and tests, like deadlines);
leases are wall-clock, they guard against real processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from loop.notify.plan import Pending
from schemas.notification import NotificationIntent
from sinks import sql_tables

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sinks.sql import SqlStore

_N = sql_tables.notifications
_A = sql_tables.notification_attempts
_INTENT_FIELDS = tuple(NotificationIntent.model_fields)


@dataclass(frozen=True)
class Claimed:
    """What one pass of the sender holds: due rows, and each group's last successful send."""

    pending: list[Pending]
    intents: dict[str, NotificationIntent]
    last_sent: dict[tuple[str, str], datetime]


@dataclass(frozen=True)
class Outcome:
    """How sending one batch went: ``error`` None when it was delivered."""

    intent_ids: tuple[str, ...]
    error: str | None
    retry_at: datetime | None = None  # worker clock; for a failure


class NotificationQueue:
    """Queue operations on the task store (``sinks.sql.SqlStore``'s engine)."""

    def __init__(self, store: SqlStore, owner: str, lease: float = 60.0, limit: int = 200) -> None:
        self.store = store
        self.owner = owner
        self.lease = lease
        self.limit = limit

    def claim(self, now: datetime) -> Claimed:
        """Lease up to ``limit`` rows due at ``now``; read them and their groups' last sends."""
        wall = datetime.now(UTC)
        # its own leases too: the sender leaves out the rows it is sending (streams/notify.py)
        free = sa.or_(
            _N.c.lease_until.is_(None), _N.c.lease_until < wall, _N.c.lease_owner == self.owner
        )
        due = sa.and_(_N.c.status == "pending", _N.c.next_attempt_at <= now, free)
        pick = sa.select(_N.c.intent_id).where(due).order_by(_N.c.next_attempt_at).limit(self.limit)
        with self.store.transaction("claiming notifications") as conn:
            conn.execute(
                sa.update(_N)
                .where(_N.c.intent_id.in_(pick.scalar_subquery()), due)
                .values(lease_owner=self.owner, lease_until=wall + timedelta(seconds=self.lease))
            )
            rows = (
                conn.execute(
                    sa.select(_N).where(
                        _N.c.lease_owner == self.owner,
                        _N.c.status == "pending",
                        _N.c.lease_until > wall,
                    )
                )
                .mappings()
                .all()
            )
            receivers = {r["receiver"] for r in rows}
            keys = {r["group_key"] for r in rows}
            last: dict[tuple[str, str], datetime] = {}
            if rows:
                for receiver, key, at in conn.execute(
                    sa.select(_N.c.receiver, _N.c.group_key, sa.func.max(_N.c.sent_at))
                    .where(
                        _N.c.status == "sent",
                        _N.c.receiver.in_(receivers),
                        _N.c.group_key.in_(keys),
                    )
                    .group_by(_N.c.receiver, _N.c.group_key)
                ):
                    if at is not None:
                        last[(receiver, key)] = _utc(at)
        pending = [
            Pending(
                r["intent_id"],
                r["receiver"],
                r["group_key"],
                _utc(r["due_at"]),
                r["group_interval"],
                r["attempts"],
                _utc(r["next_attempt_at"]),
            )
            for r in rows
        ]
        intents = {r["intent_id"]: _intent(r) for r in rows}
        return Claimed(pending, intents, last)

    def record(self, outcome: Outcome, now: datetime) -> None:
        """The batch's new state and one audit row per notification, in one transaction."""
        ids = list(outcome.intent_ids)
        with self.store.transaction("recording a notification attempt") as conn:
            rows = conn.execute(
                sa.select(
                    _N.c.intent_id, _N.c.subject_id, _N.c.receiver, _N.c.step, _N.c.attempts
                ).where(_N.c.intent_id.in_(ids))
            ).all()
            values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
            if outcome.error is None:
                values |= {"status": "sent", "sent_at": now, "last_error": None}
            else:
                values |= {"next_attempt_at": outcome.retry_at or now, "last_error": outcome.error}
            conn.execute(
                sa.update(_N)
                .where(_N.c.intent_id.in_(ids))
                .values(attempts=_N.c.attempts + 1, **values)
            )
            if rows:
                conn.execute(
                    sa.insert(_A),
                    [
                        _audit(
                            r,
                            r.attempts + 1,
                            now,
                            "sent" if outcome.error is None else "failed",
                            outcome.error or "delivered",
                        )
                        for r in rows
                    ],
                )

    def hold(self, intent_ids: Iterable[str], until: datetime) -> None:
        """Not now (the group was sent within its ``group_interval``): release, try at ``until``."""
        ids = list(intent_ids)
        if not ids:
            return
        with self.store.transaction("holding notifications") as conn:
            conn.execute(
                sa.update(_N)
                .where(_N.c.intent_id.in_(ids))
                .values(next_attempt_at=until, lease_owner=None, lease_until=None)
            )

    def retry_now(
        self,
        now: datetime,
        by: str,
        *,
        intent_ids: Iterable[str] = (),
        receiver: str | None = None,
    ) -> list[str]:
        """Bring failed notifications forward to ``now``: those of ``intent_ids`` and every one
        of ``receiver`` that has failed at least once and is still pending. Why: sending backs
        off up to ``notify_retry_max`` after each failure, so a receiver that is back (the
        robot's token renewed, the gateway up again) would otherwise wait out its backoff; an
        operator who knows it is back sends now. One audit row per notification (``requeued``,
        who asked) beside its attempts, 全程留痕. A notification never tried keeps its group's
        timing, and one already sent is never sent again. The ids brought forward, sorted."""
        ids = list(intent_ids)
        chosen: list[sa.ColumnElement[bool]] = []
        if ids:
            chosen.append(_N.c.intent_id.in_(ids))
        if receiver is not None:
            chosen.append(_N.c.receiver == receiver)
        if not chosen:
            return []
        which = sa.and_(_N.c.status == "pending", _N.c.attempts > 0, sa.or_(*chosen))
        with self.store.transaction("bringing notifications forward") as conn:
            rows = conn.execute(
                sa.select(
                    _N.c.intent_id,
                    _N.c.subject_id,
                    _N.c.receiver,
                    _N.c.step,
                    _N.c.attempts,
                    _N.c.next_attempt_at,
                )
                .where(which)
                .order_by(_N.c.intent_id)
            ).all()
            if not rows:
                return []
            found = [r.intent_id for r in rows]
            conn.execute(
                sa.update(_N)
                .where(_N.c.intent_id.in_(found), _N.c.next_attempt_at > now)
                .values(next_attempt_at=now)
            )
            conn.execute(
                sa.insert(_A),
                [
                    _audit(
                        r,
                        r.attempts,
                        now,
                        "requeued",
                        f"send now, asked by {by} (next attempt was "
                        f"{_utc(r.next_attempt_at):%Y-%m-%d %H:%M:%S})",
                    )
                    for r in rows
                ],
            )
        return found

    def backlog(self) -> dict[str, int]:
        """Pending notifications per receiver (the ``riskloop_notify_backlog`` gauge)."""
        query = (
            sa.select(_N.c.receiver, sa.func.count())
            .where(_N.c.status == "pending")
            .group_by(_N.c.receiver)
        )
        with self.store.transaction("counting queued notifications") as conn:
            return {receiver: int(n) for receiver, n in conn.execute(query)}

    def listed(
        self, *, status: str | None = None, receiver: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` notifications (``status`` pending or sent, one ``receiver``
        if given) with where each stands: attempts, the next one, the last error, when sent
        (``riskloop notifications list``: what an operator asks after a receiver was away)."""
        shown = (
            _N.c.intent_id,
            _N.c.created_at,
            _N.c.receiver,
            _N.c.kind,
            _N.c.level,
            _N.c.department,
            _N.c.subject_id,
            _N.c.title,
            _N.c.status,
            _N.c.attempts,
            _N.c.next_attempt_at,
            _N.c.sent_at,
            _N.c.last_error,
        )
        query = sa.select(*shown).order_by(_N.c.created_at.desc(), _N.c.intent_id).limit(limit)
        if status is not None:
            query = query.where(_N.c.status == status)
        if receiver is not None:
            query = query.where(_N.c.receiver == receiver)
        with self.store.transaction("listing notifications") as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def attempts(self, subject_id: str) -> list[dict[str, Any]]:
        """The audit trail of a warning's or task's notifications, in order."""
        query = sa.select(_A).where(_A.c.subject_id == subject_id).order_by(_A.c.seq)
        with self.store.transaction(f"reading notification attempts of {subject_id}") as conn:
            return [dict(r) for r in conn.execute(query).mappings()]


def _audit(row: Any, attempt: int, at: datetime, outcome: str, detail: str) -> dict[str, Any]:
    """One row of ``notification_attempts`` for the notification ``row`` (全程留痕)."""
    return {
        "intent_id": row.intent_id,
        "subject_id": row.subject_id,
        "receiver": row.receiver,
        "step": row.step,
        "attempt": attempt,
        "at": at,
        "outcome": outcome,
        "detail": detail,
    }


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _intent(row: Any) -> NotificationIntent:
    return NotificationIntent.model_validate({k: row[k] for k in _INTENT_FIELDS})
