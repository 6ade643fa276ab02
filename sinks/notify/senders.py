"""One sender per configured receiver, by its ``kind``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sinks.notify.robots import DingTalkSender, WeComSender
from sinks.notify.sms import SmsSender
from sinks.notify.smtp import EmailSender
from sinks.notify.webhook import WebhookSender

if TYPE_CHECKING:
    from loop.notify.config import NotifyConfig
    from sinks.notify.base import Sender

SENDERS: dict[str, type[Sender]] = {
    "webhook": WebhookSender,
    "dingtalk": DingTalkSender,
    "wecom": WeComSender,
    "email": EmailSender,
    "sms": SmsSender,
}


def senders(config: NotifyConfig) -> dict[str, Sender]:
    """A sender for every receiver of ``config``, by receiver name."""
    return {r.name: SENDERS[r.kind](r, config.secrets) for r in config.receivers}
