"""Help text as a terminal shows it: the docstrings' source line breaks taken out.

Typer (0.29) shows a command's docstring with the line breaks it has in the source, in the
command lists (``riskloop ops --help``) and in every paragraph after the first, so help read
like a ragged column cut at 96 characters and then wrapped again by the terminal. Each
command's and group's help is reflowed once before the CLI runs: lines of one paragraph are
joined, and a blank line, a list item or an indented line still starts a new line.

>>> print(reflow('''First line
... goes on here.
...
... Then a list:
... - one
...   more of one
... - two
...
... Example::
...
...     riskloop tasks list
...     --json
... Use ``--json``.'''))
First line goes on here.
<BLANKLINE>
Then a list:
- one more of one
- two
<BLANKLINE>
Example::
<BLANKLINE>
    riskloop tasks list
    --json
Use `--json`.
"""

from __future__ import annotations

import inspect
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

_ITEM = re.compile(r"^(?:[-*•]|\d+[.)]|\(\w\))\s")
"""A line that starts a list item: kept on a line of its own."""


def reflow(text: str) -> str:
    """``text`` (a docstring, dedented here) with each paragraph's and list item's lines joined;
    reST's double backquotes become single ones (a terminal shows them as typed)."""
    out: list[str] = []
    in_item = False
    for line in inspect.cleandoc(text).splitlines():
        stripped = line.strip()
        item = bool(_ITEM.match(stripped))
        indented = line[:1].isspace()
        joins = (
            bool(out)
            and bool(out[-1].strip())
            and bool(stripped)
            and not item
            and (not indented or in_item)
            and (in_item or not out[-1][:1].isspace())  # an indented block stays as it is
            and not out[-1].rstrip().endswith(":")
        )
        if joins:
            out[-1] = f"{out[-1].rstrip()} {stripped}"
        else:
            out.append(stripped if item else line.rstrip())
            in_item = item or (in_item and bool(stripped) and indented)
    return re.sub(r"``(.+?)``", r"`\1`", "\n".join(out))


def flow_help(app: typer.Typer) -> None:
    """Reflow the help of ``app``, its commands and its sub-groups, in place (idempotent)."""
    if isinstance(app.info.help, str):
        app.info.help = reflow(app.info.help)
    for command in app.registered_commands:
        text = command.help if command.help is not None else inspect.getdoc(command.callback)
        if text:
            command.help = reflow(text)
    for group in app.registered_groups:
        if isinstance(group.help, str):
            group.help = reflow(group.help)
        if group.typer_instance is not None:
            flow_help(group.typer_instance)
