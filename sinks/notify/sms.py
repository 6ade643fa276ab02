"""An SMS gateway that takes JSON (most provincial gateways and cloud SMS proxies do).

The request body is the receiver's ``body`` template: string values are ``string.Template``s
over ``$phones`` (comma-separated), ``$text``, ``$segment`` and ``$segments`` — substituted,
never evaluated. A long text goes out as several requests of at most ``segment_chars``
characters (70: one SMS of Chinese text), numbered ``(1/3)`` only if there is more than one.
"""

from __future__ import annotations

import json
from string import Template
from typing import TYPE_CHECKING, Any

from loop.notify.render import sms_segments
from sinks.notify.base import HttpSender

if TYPE_CHECKING:
    from collections.abc import Sequence

    from schemas.notification import NotificationIntent


def fill(template: Any, values: dict[str, str]) -> Any:
    """``template`` with every string's ``$name`` replaced (unknown names are left as they are).

    >>> fill({"to": "$phones", "msg": {"text": "$text"}, "n": 1}, {"phones": "1", "text": "hi"})
    {'to': '1', 'msg': {'text': 'hi'}, 'n': 1}
    """
    if isinstance(template, str):
        return Template(template).safe_substitute(values)
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


class SmsSender(HttpSender):
    """One POST per segment; a failed segment fails the batch (retried whole)."""

    async def send(self, batch: Sequence[NotificationIntent]) -> None:
        """Send the batch's text in segments, in order; the first refused segment raises, and
        the queue's retry sends the whole batch again.
        """
        r = self.receiver
        room = r.segment_chars
        segments = sms_segments(batch, room)
        if len(segments) > 1:  # leave room for the "(k/n)" counter
            segments = sms_segments(batch, room - 7)
        headers = {}
        key = self.secret(r.api_key)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        for k, text in enumerate(segments, 1):
            shown = f"{text}({k}/{len(segments)})" if len(segments) > 1 else text
            values = {
                "phones": ",".join(r.phones),
                "text": shown,
                "segment": str(k),
                "segments": str(len(segments)),
            }
            body = json.dumps(fill(r.body, values), ensure_ascii=False).encode()
            await self.post(r.url, body, headers)
