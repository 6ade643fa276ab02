"""``riskloop deadletter show [--decrypt] [--limit N]``: the dead-letter topic, for triage.

Plain lines (``typer.echo``, no markup): an original is printed exactly as it was.

Everyone who triages sees why each record was refused and a masked preview; the original bytes
are sealed under the operators' key (``RISKLOOP_DEADLETTER_KEY``), so only ``--decrypt`` with
that key shows them. Records written before sealing existed are plain and read as before.
"""

from __future__ import annotations

import base64
from collections import deque
from typing import Annotated

import typer
from pydantic import ValidationError

from streams.cli.common import fail, settings

app = typer.Typer(
    help="Rejected records: reason, masked preview; originals with the key.", no_args_is_help=True
)


def shown(data: bytes | None) -> str:
    """Bytes as a person reads them: UTF-8 text when they are, else ``base64:…`` (exact).

    >>> shown(b"ok"), shown(b"\\xff"), shown(None)
    ('ok', 'base64:/w==', '(none)')
    """
    if data is None:
        return "(none)"
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(data).decode()


@app.command()
def show(
    decrypt: Annotated[
        bool, typer.Option("--decrypt", help="also print each original (needs the key)")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="newest records to show")] = 20,
) -> None:
    """The newest dead-lettered records: reason, where from, masked preview (and original)."""
    from schemas.ingest import original_of, preview_of
    from schemas.records import DeadLetter
    from schemas.sealing import SealError
    from streams.deadletters import sealer_of
    from streams.publish import read_all

    s = settings()
    sealer = sealer_of(s) if decrypt else None
    if decrypt and sealer is None:
        fail("no dead-letter key: set RISKLOOP_DEADLETTER_KEY to decrypt originals", code=2)
    newest: deque[bytes | None] = deque(maxlen=limit)
    for _, value in read_all(s, s.topics.deadletter):
        newest.append(value)
    unopened = 0
    for value in newest:
        try:
            letter = DeadLetter.model_validate_json(value or b"")
        except ValidationError:
            typer.echo("(a record that is not a dead letter)")
            continue
        typer.echo(
            f"{letter.rejected_at.isoformat()} {letter.source} {letter.topic}[{letter.partition}]"
            f"@{letter.offset} {letter.reason}"
            f"{' ' + letter.field if letter.field else ''}: {letter.message}"
        )
        typer.echo(f"  preview: {preview_of(letter)}")
        state = f"sealed ({letter.encryption})" if letter.encryption else "plain"
        typer.echo(f"  original: {state}, {len(letter.payload)} bytes")
        if decrypt:
            try:
                key, payload = original_of(letter, sealer)
            except SealError as exc:
                unopened += 1
                typer.echo(f"  cannot decrypt: {exc}")
                continue
            typer.echo(f"  key: {shown(key)}")
            typer.echo(f"  value: {shown(payload)}")
    typer.echo(f"{len(newest)} record(s)")
    if unopened:
        fail(f"{unopened} original(s) did not open with this key", code=3)
