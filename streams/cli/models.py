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
    """The registered model factories (name, source, state version, what they do) and the
    presets: tested settings a publication may name (`riskloop models publish --preset`)."""
    import json

    table = Table("factory", "source", "state version", "description")
    from models.factories import factories  # River and SciPy: only when the command runs
    from models.presets import PRESETS

    for f in factories():
        table.add_row(f.name, f.source, f.version, f.description)
    console = Console(soft_wrap=True)
    console.print(table)
    presets = Table("preset", "factory", "chosen on", "params", title="presets")
    for p in PRESETS.values():
        presets.add_row(p.name, p.factory, p.chosen_on, json.dumps(dict(p.params)))
    console.print(presets)


@app.command("params")
def list_params(
    factory: str = typer.Argument(help="a factory name (`riskloop models list`)"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per parameter"),
) -> None:
    """The hyperparameters FACTORY takes: name, allowed values, default (what PARAMS of
    `riskloop models publish` may set; the factory's docstring says what each does)."""
    import json

    from models.factories import UnknownFactory, get_factory
    from models.hyperparameters import described
    from streams.cli.common import fail

    try:
        found = get_factory(factory)
    except UnknownFactory as exc:
        fail(str(exc))
    rows = described(found.params_model)
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    table = Table("parameter", "allowed", "default", title=f"{found.name} ({found.source})")
    for row in rows:
        table.add_row(row["name"], row["allowed"], json.dumps(row["default"], ensure_ascii=False))
    Console(soft_wrap=True).print(table)
