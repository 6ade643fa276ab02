"""E-mail over SMTP with the standard library, in a thread: smtplib blocks, the loop must not."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING

from loop.notify.render import plain, subject
from sinks.notify.base import DeliveryFailed, Sender

if TYPE_CHECKING:
    from collections.abc import Sequence

    from schemas.notification import NotificationIntent


class EmailSender(Sender):
    """One plain-text UTF-8 message per batch to every address of the receiver."""

    def _message(self, batch: Sequence[NotificationIntent]) -> EmailMessage:
        r = self.receiver
        msg = EmailMessage()
        msg["Subject"] = subject(batch)
        msg["From"] = r.sender
        msg["To"] = ", ".join(r.to)
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(idstring=batch[0].intent_id, domain="riskloop")
        msg["X-RiskLoop-Notification-Id"] = ",".join(i.intent_id for i in batch)
        msg.set_content(plain(batch))
        return msg

    async def send(self, batch: Sequence[NotificationIntent]) -> None:
        """Send the batch as one e-mail, in a thread: a slow SMTP server must not stall the
        worker's event loop.
        """
        await asyncio.to_thread(self._send, self._message(batch))

    def _send(self, msg: EmailMessage) -> None:
        r = self.receiver
        try:
            with smtplib.SMTP(r.host, r.port, timeout=r.timeout) as smtp:
                if r.starttls:
                    smtp.starttls()
                if r.username:
                    smtp.login(r.username, self.secret(r.password) or "")
                refused = smtp.send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(
                f"SMTP {r.host}:{r.port}: {type(exc).__name__}: {exc}"[:300]
            ) from exc
        if refused:
            raise DeliveryFailed(f"SMTP refused recipients: {sorted(refused)}")
