"""The CLI as a person: writes through the worker API with ``RISKLOOP_API_TOKEN``.

Why: a write the CLI puts on Kafka itself records the ``--by``/``--actor`` it was given, and
Kafka's ACLs see the deployment's principal, not the person. Through the API, the token names
the person, the API checks what that person may do (their department, the risk centre's
arbitration) and the audit trail records them — as it does for the console. Standard library
only (``urllib``): one request per command.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from schemas.errors import ConfigError, RiskLoopError

if TYPE_CHECKING:
    from config.settings import Settings


class ApiUnreachable(RiskLoopError):
    """The worker API did not answer (refused, timed out, not HTTP): one line, exit 1."""


@dataclass(frozen=True)
class Answer:
    """The API's status and JSON body (``{"error": …}`` for a refusal)."""

    status: int
    body: dict[str, Any]

    @property
    def error(self) -> str:
        """The API's reason for a refusal, or the status when it gave none."""
        return str(self.body.get("error") or f"HTTP {self.status}")


def no_name_of_ones_own(flag: str, given: str | None) -> None:
    """Refuse ``--by``/``--actor`` with a token: the API records the token's person, and a
    different name typed beside it would be a claim nobody checks."""
    if given:
        raise ConfigError(
            f"{flag}: with RISKLOOP_API_TOKEN the audit trail names the token's person"
        )


def post(
    s: Settings, path: str, body: dict[str, Any], *, idempotency_key: str | None, timeout: float
) -> Answer:
    """POST ``body`` as JSON to the worker API's ``path`` with the person's token."""
    headers = {"Content-Type": "application/json"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    data = json.dumps(body, ensure_ascii=False).encode()
    return _call(s, "POST", path, data, headers, timeout)


def get(s: Settings, path: str, *, timeout: float) -> Answer:
    """GET the worker API's ``path`` as the person: what their regions and department show."""
    return _call(s, "GET", path, None, {}, timeout)


def _call(
    s: Settings,
    method: str,
    path: str,
    data: bytes | None,
    headers: dict[str, str],
    timeout: float,
) -> Answer:
    if s.api_token is None:
        raise ApiUnreachable("no RISKLOOP_API_TOKEN: the CLI has no person to act as")
    headers = {**headers, "Authorization": f"Bearer {s.api_token.get_secret_value()}"}
    url = f"{s.cli_api_url}{path}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, _json(response.read()))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, _json(exc.read()))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ApiUnreachable(f"the worker API at {s.cli_api_url} did not answer: {reason}") from exc


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {"error": raw.decode("utf-8", "replace")[:200]}
    return value if isinstance(value, dict) else {"error": str(value)[:200]}
