"""``riskloop models``: the group, and ``list`` of the model factories.

``control`` adds publish/rollback/active (they need Kafka); ``evaluate`` and ``split`` read the
labelled datasets and draw, which is the tools' work: they are a plug-in from ``bench/``
(``bench/cli_models.py``, entry point ``models`` in pyproject.toml), added to this group.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Online models: list factories, evaluate them progressively on datasets.")


@app.command("list")
def list_models() -> None:
    """The registered model factories: name, source, state version, what they do."""
    table = Table("factory", "source", "state version", "description")
    from models.factories import factories  # River and SciPy: only when the command runs

    for f in factories():
        table.add_row(f.name, f.source, f.version, f.description)
    Console(soft_wrap=True).print(table)
