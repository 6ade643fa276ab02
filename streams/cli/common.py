"""Small helpers shared by the CLI modules: settings, one-line failures, console output."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

from rich.console import Console

if TYPE_CHECKING:  # settings import pydantic-settings: not needed for `riskloop --help`
    from config.settings import Settings

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class LazyModule:
    """A module imported on first attribute use: a CLI module that many commands load can
    name a heavy one (the broker client, NumPy) without every command paying for it."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        import importlib

        return getattr(importlib.import_module(self._name), attr)


def me() -> str:
    """Who runs this command, as the audit trail records a CLI's actor when ``--by`` is not
    given: the login name, or "unknown" where the system has none (a container's bare uid)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def settings() -> Settings:
    """The settings for this invocation (environment, .env)."""
    from config.settings import load_settings

    return load_settings()


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line to stderr and exit with ``code``."""
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    rest = message.strip().splitlines()[1:]
    print(f"riskloop: error: {first}", file=sys.stderr)
    for line in rest:
        print(f"  {line}", file=sys.stderr)
    sys.exit(code)


def instant(text: str) -> datetime:
    """An ISO-8601 instant given on the command line; one without a zone is Beijing time, as a
    department means it. Anything else is one clear line (a ``ConfigError``), not a traceback."""
    from loop.deadlines import CST
    from schemas.errors import ConfigError

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"{text!r} is not an ISO-8601 instant (e.g. 2026-12-23T10:00:00+08:00)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=CST)


@contextmanager
def bad_input(what: str) -> Iterator[None]:
    """A ``ValueError`` inside (pydantic's included) becomes one ``ConfigError`` line, ``what``
    and the first line of the reason: a record read from a file or a topic that is not what it
    should be is reported where it is, not as a page of validation errors."""
    from schemas.errors import ConfigError

    try:
        yield
    except ValueError as exc:
        raise ConfigError(f"{what} ({str(exc).splitlines()[0]})") from exc
