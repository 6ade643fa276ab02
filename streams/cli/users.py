"""``riskloop users token``: a signed token naming a person, for development, tests and demos.

It signs with the local dev key (``infra.devkey``: made on first use in the state folder, its
public JWKS beside it, which the API trusts while ``RISKLOOP_AUTH__JWKS`` is unset). Only the
token is printed, so ``TOKEN=$(riskloop users token …)`` and ``curl -H "Authorization: Bearer
$TOKEN"`` just work; in production the province's SSO issues tokens instead.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from streams.cli.common import err_console, fail, settings

app = typer.Typer(
    help="People: tokens naming a person for the API (dev key).", no_args_is_help=True
)

_TTL = re.compile(r"([0-9]{1,7})([smhd]?)")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def register(root: typer.Typer) -> None:
    """Add ``riskloop users …`` to the root command."""
    root.add_typer(app, name="users")


def parse_ttl(text: str) -> timedelta:
    """``90``, ``30m``, ``8h``, ``7d``: a token's lifetime.

    >>> parse_ttl("8h"), parse_ttl("90")
    (datetime.timedelta(seconds=28800), datetime.timedelta(seconds=90))
    """
    match = _TTL.fullmatch(text.strip())
    if match is None or int(match[1]) == 0:
        raise ValueError(f"--ttl {text!r}: give a positive number with s, m, h or d (e.g. 8h)")
    return timedelta(seconds=int(match[1]) * _UNIT[match[2]])


@app.command("token")
def token(
    sub: Annotated[str, typer.Option(help="the person's id (the SSO's subject)")],
    name: Annotated[str, typer.Option(help="display name, e.g. 李明")],
    role: Annotated[
        list[str],
        typer.Option(help="staff, handler, lead, supervisor, modeller, operator (repeatable)"),
    ],
    department: Annotated[str, typer.Option(help="department id, e.g. hz_market, risk_centre")],
    region: Annotated[
        list[str] | None, typer.Option(help="region code prefix covered, e.g. 3301 (repeatable)")
    ] = None,
    ttl: Annotated[str, typer.Option(help="lifetime: 30m, 8h, 7d")] = "8h",
) -> None:
    """Print a token naming a person, signed with the dev key (made on first use)."""
    from pydantic import ValidationError

    from infra.devkey import DevKey
    from loop.identity import Principal, Role

    s = settings()
    unknown = sorted(set(role) - set(Role.__members__))
    if unknown:
        fail(f"unknown role {', '.join(unknown)} (roles: {', '.join(Role.__members__)})")
    try:
        who = Principal.model_validate(
            {
                "sub": sub,
                "name": name,
                "roles": role,
                "department": department,
                "regions": region or [],
            }
        )
        lifetime = parse_ttl(ttl)
    except (ValidationError, ValueError) as exc:
        fail(f"cannot mint that token: {_first(exc)}")
    key = DevKey(s.dev.state_dir / "auth")
    if s.jwks_source != str(key.jwks):
        err_console.print(f"[yellow]note:[/] the API trusts {s.jwks_source}, not this dev key")
    print(
        key.mint(
            who, issuer=s.auth.issuer, audience=s.auth.audience, now=datetime.now(UTC), ttl=lifetime
        )
    )


def _first(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        err = exc.errors(include_url=False, include_input=False)[0]
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    return str(exc)
