"""Every command's help reads as flowing text: no sentence broken where its docstring's source
line ended (Typer 0.29 keeps those breaks in the command lists and later paragraphs)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from streams.cli.help_text import reflow

if TYPE_CHECKING:
    import typer

BROKEN = re.compile(r"\S\n[a-z(`]")
"""A line break inside a sentence: text, a newline, then a lowercase word or a quote."""


def _helps(app: typer.Typer, path: str = "riskloop") -> list[tuple[str, str]]:
    found = [(path, app.info.help)] if isinstance(app.info.help, str) else []
    for command in app.registered_commands:
        found.append((f"{path} {command.name or command.callback.__name__}", command.help or ""))
    for group in app.registered_groups:
        if group.typer_instance is not None:
            found += _helps(group.typer_instance, f"{path} {group.name}")
    return found


def test_no_command_help_breaks_a_sentence() -> None:
    from streams.cli import app

    helps = _helps(app)
    assert len(helps) > 60  # every command of every group was read
    broken = [path for path, text in helps if BROKEN.search(text)]
    assert broken == []


def test_reflow_keeps_paragraphs_lists_and_blocks() -> None:
    text = "Send them now,\nnot later.\n\n- one\n  still one\n- two\n\nRun::\n\n    a\n    b\n"
    assert (
        reflow(text)
        == "Send them now, not later.\n\n- one still one\n- two\n\nRun::\n\n    a\n    b"
    )
    assert reflow(reflow(text)) == reflow(text)
