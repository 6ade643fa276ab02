"""``riskloop routes test``: which department a warning's task reaches, and by which route.

Like ``amtool config routes test``: the routing table is checked offline, before a task goes
astray. With labels it routes one warning; without, every active rule of the rule packs (each
source a rule reads can raise its warning) and exits 1 if any of them reaches only the
province's intake (a catch-all route) or its template's default, i.e. no route knows it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loop.routing import (
    Resolution,
    RoutingTable,
    load_table,
    parse_labels,
    require_region,
    resolve,
    rule_routes,
)
from rules.compiler import expand_paths, load_pack
from streams.cli.common import console, err_console, settings

app = typer.Typer(help="The task routing table: test where warnings go.", no_args_is_help=True)

TableOption = Annotated[
    Path | None, typer.Option("--table", help="routing table (default: config/routing.yaml)")
]


def _why(resolution: Resolution, index: int) -> str:
    route = resolution.routes[index]
    if route is None:
        return "the rule template's default: no route matched"
    return route.describe() + (" — a catch-all: the intake" if route.catch_all else "")


@app.command("test")
def routes_test(
    labels: Annotated[
        list[str] | None,
        typer.Argument(
            help="the warning's labels: source=… item_code=… region_code=… [department=…]"
        ),
    ] = None,
    region: Annotated[
        str, typer.Option(help="without labels: the region the packs' warnings come from")
    ] = "330106",
    packs: Annotated[
        Path | None, typer.Option(help="without labels: rule packs folder (default: the setting)")
    ] = None,
    table: TableOption = None,
) -> None:
    """Print the department a warning reaches (and the route that matched); with no labels,
    check that every rule of the packs reaches a named department, not the intake."""
    routing = load_table(table)
    if labels:
        found = parse_labels(labels)
        resolution = resolve(
            routing,
            source=found["source"],
            item_code=found.get("item_code", ""),
            region_code=found.get("region_code"),
            default=found.get("department"),
        )
        console.print(resolution.department, markup=False, soft_wrap=True)
        console.print(f"  matched {_why(resolution, 0)}", markup=False, soft_wrap=True)
        for i, department in enumerate(resolution.departments[1:], start=1):
            console.print(
                f"  if returned: {department} ({_why(resolution, i)})", markup=False, soft_wrap=True
            )
        return
    _check_packs(routing, packs or settings().rule_packs_dir, region)


def _check_packs(routing: RoutingTable, folder: Path, region: str) -> None:
    require_region(region)
    files = expand_paths([Path(folder)])
    rows = rule_routes(routing, [load_pack(p) for p in files], region)
    width = max((len(f"{r.pack}/{r.rule_id}") for r in rows), default=0)
    for row in rows:
        route = row.resolution.route
        console.print(
            f"{row.pack + '/' + row.rule_id:<{width}}  {row.source:<16} {row.item_code:<12} "
            f"→ {row.resolution.department:<22} {f'line {route.line}' if route else 'template'}",
            markup=False,
            soft_wrap=True,
        )
    astray = [row for row in rows if not row.resolution.routed]
    for row in astray:
        err_console.print(
            f"not routed: {row.pack}/{row.rule_id} (source={row.source} item_code="
            f"{row.item_code} region_code={region}) reaches {row.resolution.department}: "
            + _why(row.resolution, 0),
            markup=False,
            soft_wrap=True,
        )
    if astray:
        raise typer.Exit(1)
    console.print(f"{len(rows)} rule × source routes from {region}: each reaches a department")
