"""When the queue's notifications go out, and with which others (pure).

Alertmanager's timing, per (receiver, group key):

* a new group waits ``group_wait`` after its first notification was decided (``due_at``), so
  what arrives together goes out together;
* after a group was sent, new members wait until ``group_interval`` has passed since;
* a batch that failed is retried as one after its backoff (``next_attempt_at``), not held by
  ``group_interval`` (that is for news, not for retries).

>>> from datetime import UTC, datetime, timedelta
>>> t = datetime(2026, 12, 2, tzinfo=UTC)
>>> p = Pending(intent_id="n1", receiver="r", group_key="g", due_at=t, group_interval=300,
...             attempts=0, next_attempt_at=t)
>>> [b.intent_ids for b in ready([p], {}, t)]
[('n1',)]
>>> ready([p], {("r", "g"): t - timedelta(seconds=60)}, t)  # sent a minute ago: wait
[]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

MAX_BATCH = 20  # notifications per message: more is a report nobody reads on a phone


@dataclass(frozen=True)
class Pending:
    """A queued notification as the planner needs it."""

    intent_id: str
    receiver: str
    group_key: str
    due_at: datetime
    group_interval: float
    attempts: int
    next_attempt_at: datetime


@dataclass(frozen=True)
class Batch:
    """Notifications to send to one receiver in one message."""

    receiver: str
    group_key: str
    intent_ids: tuple[str, ...]


def ready(
    pending: Iterable[Pending], last_sent: Mapping[tuple[str, str], datetime], now: datetime
) -> list[Batch]:
    """The batches due at ``now``; ``last_sent`` is each group's last successful send."""
    groups: dict[tuple[str, str], list[Pending]] = {}
    for p in pending:
        groups.setdefault((p.receiver, p.group_key), []).append(p)
    batches = []
    for (receiver, key), members in sorted(groups.items()):
        if not _due(members, last_sent.get((receiver, key)), now):
            continue
        members.sort(key=lambda p: (-p.attempts, p.due_at, p.intent_id))  # retries first
        ids = tuple(p.intent_id for p in members[:MAX_BATCH])
        batches.append(Batch(receiver, key, ids))
    return batches


def _due(members: list[Pending], last: datetime | None, now: datetime) -> bool:
    retrying = [p for p in members if p.attempts > 0]
    if retrying:
        return max(p.next_attempt_at for p in retrying) <= now
    if min(p.due_at for p in members) > now:
        return False
    interval = timedelta(seconds=min(p.group_interval for p in members))
    return last is None or last + interval <= now


def hold_until(
    pending: Iterable[Pending],
    last_sent: Mapping[tuple[str, str], datetime],
    batches: Iterable[Batch],
    now: datetime,
) -> dict[datetime, list[str]]:
    """When each claimed notification not in ``batches`` may go next, grouped by that time:
    after its group's backoff, or its ``group_interval`` since the group's last send."""
    sending = {i for b in batches for i in b.intent_ids}
    groups: dict[tuple[str, str], list[Pending]] = {}
    for p in pending:
        if p.intent_id not in sending:
            groups.setdefault((p.receiver, p.group_key), []).append(p)
    out: dict[datetime, list[str]] = {}
    for key, members in groups.items():
        retrying = [p for p in members if p.attempts > 0]
        if retrying:
            until = max(p.next_attempt_at for p in retrying)
        else:
            last = last_sent.get(key)
            interval = timedelta(seconds=min(p.group_interval for p in members))
            until = max(min(p.due_at for p in members), last + interval if last else now)
        out.setdefault(max(until, now), []).extend(p.intent_id for p in members)
    return out
