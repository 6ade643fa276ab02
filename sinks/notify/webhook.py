"""The generic webhook: our JSON, signed (loop/notify/signing.py; README: Notifications)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from loop.notify.render import webhook_payload
from loop.notify.signing import ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, webhook_signature
from sinks.notify.base import HttpSender

if TYPE_CHECKING:
    from collections.abc import Sequence

    from schemas.notification import NotificationIntent


class WebhookSender(HttpSender):
    """POST the batch as JSON with ``X-RiskLoop-Timestamp`` and ``X-RiskLoop-Signature``.

    ``X-RiskLoop-Notification-Id`` names the batch's first notification: a receiver that
    sees the same ids twice (a retry after a lost answer) can drop the repeat."""

    async def send(self, batch: Sequence[NotificationIntent]) -> None:
        """POST the batch, signed over its timestamp and body, so a receiver can refuse a forged
        or replayed message.
        """
        body = json.dumps(webhook_payload(batch, self.receiver.name), ensure_ascii=False).encode()
        ts = int(time.time())
        secret = self.secret(self.receiver.secret) or ""
        headers = {
            TIMESTAMP_HEADER: str(ts),
            SIGNATURE_HEADER: webhook_signature(secret, ts, body),
            ID_HEADER: ",".join(i.intent_id for i in batch),
        }
        await self.post(self.receiver.url, body, headers)
