"""Who may write: one bearer token per role, decided by a pure function before anything else.

Writes change what every worker does (a pack, a silence, a task's state), so each needs the
token of the role that owns it (modeller, operator, department; ``settings.api_tokens``). The
decision is a pure function of the header and the configured tokens, so it is tested on its own
and a view can refuse before it reads the body, let alone produces a record.

>>> from config.settings import ApiTokens
>>> from pydantic import SecretStr
>>> tokens = ApiTokens(operator=SecretStr("op-secret"))
>>> decide("Bearer op-secret", Role.operator, tokens).status
200
>>> decide(None, Role.operator, tokens).status
401
>>> decide("Bearer op-secret", Role.modeller, tokens).status  # no modeller token configured
403
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import StrEnum

from config.settings import ApiTokens


class Role(StrEnum):
    """The roles that may write, one token each."""

    modeller = "modeller"  # rule packs (and models)
    operator = "operator"  # silences, arbitration (assigning a disputed task)
    department = "department"  # dispositions of tasks


@dataclass(frozen=True)
class Decision:
    """The outcome: 200 lets the request through; 401/403 carry the reason for the client."""

    status: int
    error: str = ""

    @property
    def allowed(self) -> bool:
        return self.status == 200


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None if there is none."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _same(a: str, b: str) -> bool:
    """Constant-time comparison, so response timing does not leak how much of a token matched.

    A header that is not UTF-8 reaches us with surrogate escapes (aiohttp decodes it with
    ``surrogateescape``), so the text is encoded with ``surrogatepass``: any string compares,
    and one that is no token simply does not match.

    >>> _same("op-secret", "op-secret"), _same("\\udcff\\udcfe", "op-secret")
    (True, False)
    """
    return hmac.compare_digest(_bytes(a), _bytes(b))


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def decide(header: str | None, role: Role, tokens: ApiTokens) -> Decision:
    """May a request with this ``Authorization`` header write as ``role``?

    No usable bearer token → 401. A role whose configured token is empty cannot write at all
    (403, whatever is sent: an empty secret must never match). Any other token than the role's
    → 403, including another role's valid token.
    """
    token = bearer(header)
    if token is None:
        return Decision(401, "missing bearer token (Authorization: Bearer <token>)")
    expected = getattr(tokens, role.value).get_secret_value()
    if not expected:
        return Decision(403, f"writes by role {role.value} are disabled (no token configured)")
    if _same(token, expected):
        return Decision(200)
    return Decision(403, f"this token may not write as {role.value}")
