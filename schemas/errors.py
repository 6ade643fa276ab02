"""The one error root of RiskLoop.

Every error we raise on purpose derives from :class:`RiskLoopError`, so the CLI can turn any of
them into one clear line and a non-zero exit, and nothing else (a real bug) is hidden that way.
It lives in ``schemas/`` because that package imports nothing of ours: every other package can
import it without a cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

_V = TypeVar("_V")


class RiskLoopError(Exception):
    """Base of every error RiskLoop raises deliberately; its message is meant for a person."""


class Refused(RiskLoopError):
    """A request refused with an HTTP status: the API's answer and the console's page both
    carry ``status`` and a ``message`` a person reads (never a traceback)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ConfigError(RiskLoopError):
    """A setting, mapping, routing table or other configuration file is wrong."""


class ValidationFailed(RiskLoopError):
    """A record broke the data standard.

    ``reason`` is a stable machine code (used as a metric label and in the dead-letter record),
    ``field`` the dotted path of the failing field (empty when the whole record is at fault).
    """

    def __init__(self, reason: str, message: str, field: str = "") -> None:
        super().__init__(f"{reason}: {field + ': ' if field else ''}{message}")
        self.reason = reason
        self.field = field
        self.message = message


def checked(check: Callable[[_V], object], value: _V) -> _V:
    """``value`` if ``check`` accepts it; the check's :class:`RiskLoopError` as the
    ``ValueError`` a pydantic validator raises, so the message comes with the field's name.

    >>> checked(int, "7")
    '7'
    """
    try:
        check(value)
    except RiskLoopError as exc:
        raise ValueError(str(exc)) from exc
    return value
