"""One message from a group of intents, in each receiver's shape (pure: tested without I/O).

A group is what one receiver gets at once (routing.group_key): one red warning, or the three
tasks of a department that all passed their deadline in the same minute.

>>> from datetime import UTC, datetime
>>> from schemas.notification import NotificationIntent
>>> t = datetime(2026, 12, 2, tzinfo=UTC)
>>> i = NotificationIntent(intent_id="ntf-1", subject_id="a-1", receiver="r", step="red",
...     kind="warning", audience="department", group_key="0|", created_at=t, due_at=t,
...     group_interval=300, level="red", department="hz_market", title="【红色预警】食物中毒",
...     text="对象：某餐馆")
>>> sms_segments([i], 10)
['【红色预警】食物中毒', ' 对象：某餐馆']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from schemas.notification import NotificationIntent


def subject(batch: Sequence[NotificationIntent]) -> str:
    """A one-line title: the notification's own, or how many there are and the first."""
    first = batch[0].title
    return first if len(batch) == 1 else f"{len(batch)} 条通知：{first} 等"


def markdown(batch: Sequence[NotificationIntent]) -> str:
    """DingTalk / WeCom markdown: a heading per notification, its lines as a quote."""
    parts = []
    for intent in batch:
        lines = "\n".join(f"> {line}  " for line in intent.text.splitlines())
        parts.append(f"#### {intent.title}\n{lines}")
    return "\n\n".join(parts)


def plain(batch: Sequence[NotificationIntent]) -> str:
    """The e-mail body: each notification's title and lines, separated by blank lines."""
    return "\n\n".join(f"{i.title}\n{i.text}" for i in batch) + "\n"


def sms_segments(batch: Sequence[NotificationIntent], chars: int = 70) -> list[str]:
    """The SMS text cut into segments of at most ``chars`` characters (70: one GSM-UCS2 SMS).

    Only titles and the first line of each go out by SMS: it is a pager, not a report."""
    text = "；".join(
        " ".join(x for x in (i.title, i.text.splitlines()[0] if i.text else "") if x) for i in batch
    )
    return [text[k : k + chars] for k in range(0, len(text), chars)] or [""]


def webhook_payload(batch: Sequence[NotificationIntent], receiver: str) -> dict[str, Any]:
    """The generic webhook's JSON: one entry per notification, ids to deduplicate by."""
    return {
        "version": "1",
        "receiver": receiver,
        "group_key": batch[0].group_key,
        "title": subject(batch),
        "notifications": [
            {
                "id": i.intent_id,
                "subject_id": i.subject_id,
                "step": i.step,
                "kind": i.kind,
                "audience": i.audience,
                "level": i.level,
                "department": i.department,
                "title": i.title,
                "text": i.text,
                "created_at": i.created_at.isoformat(),
                "correlation_id": i.correlation_id,
            }
            for i in batch
        ],
    }
