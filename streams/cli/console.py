"""``riskloop console``: the web console (issue #20), a process of its own beside the workers."""

from __future__ import annotations

from typing import Annotated

import typer

from streams.cli.common import fail, settings


def register(root: typer.Typer) -> None:
    """Add ``riskloop console`` to the root command."""
    root.command("console")(console)


def console(
    host: Annotated[str | None, typer.Option(help="bind address; default from settings")] = None,
    port: Annotated[
        int | None, typer.Option(help="HTTP port; default from settings (6070)")
    ] = None,
) -> None:
    """Serve the web console (Chinese UI); log in with a token from `riskloop users token`."""
    import asyncio

    from console.app import serve

    s = settings()
    changes = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    if changes:
        s = s.with_overrides(console=s.console.model_copy(update=changes))
    try:
        asyncio.run(serve(s))
    except OSError as exc:
        fail(
            f"cannot serve the console on {s.console.host}:{s.console.port}: {exc.strerror or exc}"
        )
