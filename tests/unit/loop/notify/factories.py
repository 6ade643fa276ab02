"""One factory for the notification tests: an intent for warning ``a-<n>``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.notification import NotificationIntent

T = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def intent(
    n: int, receiver: str = "r", *, text: str = "对象：某餐馆\n地址：西湖区", wait: float = 0
) -> NotificationIntent:
    return NotificationIntent(
        intent_id=f"ntf-{n}",
        subject_id=f"a-{n}",
        receiver=receiver,
        step="red",
        kind="warning",
        audience="department",
        group_key="0|",
        created_at=T,
        due_at=T + timedelta(seconds=wait),
        group_interval=300,
        level="red",
        department="hz",
        title=f"【红色预警】食物中毒 {n}",
        text=text,
    )
