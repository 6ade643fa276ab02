"""Signatures a receiver can check: ours for the generic webhook, DingTalk's for its robots.

Why sign: a webhook URL leaks (logs, screenshots); a signature with a shared secret lets the
receiver refuse a forged "red warning", and the timestamp inside it lets it refuse a replay.

Our scheme (Stripe's and Slack's): the request carries ``X-RiskLoop-Timestamp: <unix seconds>``
and ``X-RiskLoop-Signature: v1=<hex>``, where ``<hex>`` is HMAC-SHA256 with the shared secret
over the bytes ``<timestamp>.<raw body>``. A receiver recomputes it over the body exactly as
received, compares in constant time and refuses timestamps older than a few minutes.

>>> sig = webhook_signature("s3cret", 1764669600, b'{"a":1}')
>>> sig
'v1=50fbbf26cefe37f2364e7f5aafb8f77324f49b128913a1e5d14b14151c320ed9'
>>> verify_webhook("s3cret", "1764669600", sig, b'{"a":1}', now=1764669700)
True
>>> verify_webhook("s3cret", "1764669600", sig, b'{"a":2}', now=1764669700)
False
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "X-RiskLoop-Signature"
TIMESTAMP_HEADER = "X-RiskLoop-Timestamp"
ID_HEADER = "X-RiskLoop-Notification-Id"


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=`` and the hex HMAC-SHA256 of ``<timestamp>.<body>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify_webhook(
    secret: str, timestamp: str, signature: str, body: bytes, *, now: float, tolerance: int = 300
) -> bool:
    """What a receiver does: the signature fits the body and the timestamp is recent."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > tolerance:
        return False
    return hmac.compare_digest(webhook_signature(secret, ts, body), signature)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's robot "加签": base64 HMAC-SHA256 of ``<timestamp>\\n<secret>``, sent
    (URL-encoded) as the ``sign`` query parameter beside ``timestamp`` (浙政钉 robots too).

    >>> import urllib.parse
    >>> sign = dingtalk_sign("SEC000", 1700000000000)
    >>> sign, urllib.parse.quote_plus(sign)
    ('ltBBey5eZrWKh1cPzFIdz3v3xpkc4Tjx4lLsPSHqdtA=', 'ltBBey5eZrWKh1cPzFIdz3v3xpkc4Tjx4lLsPSHqdtA%3D')
    """
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()
