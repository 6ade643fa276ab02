"""The senders' contract: ``send(batch)`` delivers one message or raises :class:`DeliveryFailed`.

A sender never retries by itself: the queue owns retries (backoff with jitter, audit row per
attempt), so what was tried is always on record. A receiver's answer is shortened into the
error's message: a person reads it in the audit trail, not a traceback.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

import aiohttp

from schemas.errors import RiskLoopError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from schemas.notification import NotificationIntent


class DeliveryFailed(RiskLoopError):
    """The receiver did not take the message (its answer, or why it could not be reached)."""


class Sender(ABC):
    """Sends a batch of notifications to one configured receiver."""

    def __init__(self, receiver: Any, secrets: dict[str, str]) -> None:
        self.receiver = receiver
        self.secrets = secrets

    def secret(self, name: str | None) -> str | None:
        """The value of the secret ``name`` (None when the receiver names none): a receiver's
        config names its secrets and never holds them.
        """
        return None if name is None else self.secrets[name]

    @abstractmethod
    async def send(self, batch: Sequence[NotificationIntent]) -> None:
        """Deliver ``batch`` as one message; :class:`DeliveryFailed` if it was not taken."""

    async def close(self) -> None:
        """Release what the sender holds; most hold nothing between sends."""
        return


class HttpSender(Sender):
    """A sender that POSTs JSON; one aiohttp session per sender, closed with it."""

    def __init__(self, receiver: Any, secrets: dict[str, str]) -> None:
        super().__init__(receiver, secrets)
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """The sender's session, made on first use, inside the running loop that aiohttp
        binds it to, and made again if it was closed.
        """
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self.receiver.timeout)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], params: dict[str, str] | None = None
    ) -> str:
        """POST ``body``; the response text. Anything but 2xx is :class:`DeliveryFailed`."""
        try:
            async with self.session().post(
                url,
                data=body,
                headers={"Content-Type": "application/json", **headers},
                params=params,
            ) as response:
                text = await response.text(errors="replace")
                if not 200 <= response.status < 300:
                    raise DeliveryFailed(f"HTTP {response.status}: {text[:200]}")
                return text
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:300]) from exc

    async def close(self) -> None:
        """Close the session, so the worker's shutdown leaves no connection open."""
        if self._session is not None:
            await self._session.close()
