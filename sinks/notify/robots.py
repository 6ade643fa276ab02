"""Group robots of the IM tools government departments use: DingTalk / 浙政钉 and WeCom.

Both answer HTTP 200 even when they refuse a message; the refusal is in the JSON body
(``errcode`` ≠ 0, e.g. 310000 for a bad signature), so the body is what decides.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from loop.notify.render import markdown, subject
from loop.notify.signing import dingtalk_sign
from sinks.notify.base import DeliveryFailed, HttpSender

if TYPE_CHECKING:
    from collections.abc import Sequence

    from schemas.notification import NotificationIntent


def _check_errcode(text: str) -> None:
    try:
        answer = json.loads(text)
    except ValueError as exc:
        raise DeliveryFailed(f"not a robot's answer: {text[:200]}") from exc
    code = answer.get("errcode", 0) if isinstance(answer, dict) else None
    if code != 0:
        raise DeliveryFailed(f"robot refused: {text[:200]}")


class DingTalkSender(HttpSender):
    """``msgtype: markdown``; ``access_token`` and, with a secret, ``timestamp`` + ``sign``."""

    async def send(self, batch: Sequence[NotificationIntent]) -> None:
        """One markdown message to the DingTalk robot, signed when the receiver has a secret;
        the ``errcode`` in the answer decides, not the HTTP status.
        """
        body = {
            "msgtype": "markdown",
            "markdown": {"title": subject(batch), "text": markdown(batch)},
        }
        params = {"access_token": self.secret(self.receiver.token) or ""}
        secret = self.secret(self.receiver.secret)
        if secret:
            ts = int(time.time() * 1000)
            params |= {
                "timestamp": str(ts),
                "sign": dingtalk_sign(secret, ts),
            }  # encoded by aiohttp
        raw = json.dumps(body, ensure_ascii=False).encode()
        _check_errcode(await self.post(self.receiver.url, raw, {}, params))


class WeComSender(HttpSender):
    """``msgtype: markdown`` with ``content``; the robot's ``key`` in the query."""

    async def send(self, batch: Sequence[NotificationIntent]) -> None:
        """One markdown message to the WeCom robot; the ``errcode`` in the answer decides,
        not the HTTP status.
        """
        content = f"**{subject(batch)}**\n{markdown(batch)}"
        body = {"msgtype": "markdown", "markdown": {"content": content}}
        params = {"key": self.secret(self.receiver.key) or ""}
        raw = json.dumps(body, ensure_ascii=False).encode()
        _check_errcode(await self.post(self.receiver.url, raw, {}, params))
