"""``riskloop``: the single command-line entry point.

Each command group lives in its own module here and only wires arguments to code that lives
in the packages (infra, rules, models, geo, loop, schemas, bench). ``main`` turns every
deliberate error (RiskLoopError) and every usage error into one clear line and a non-zero exit:
a person at a terminal never sees a traceback for a mistake they can fix.
"""

from __future__ import annotations

import sys

import typer
from typer._click import exceptions as click_exc

from schemas.errors import RiskLoopError
from streams.cli.common import fail
from streams.cli.help_text import flow_help

# Each top-level command, the CLI modules that define it (a module's ``register`` may add to
# another group: ``control`` adds publish/rollback to rules, geo and models) and its one-line
# help. ``main`` imports only the modules of the command it runs, and ``riskloop --help`` lists
# this table without importing any: importing every module took ~4 s (River, SciPy, CEL).
# Packages above ``streams`` add commands as plug-ins (``PLUGINS``): ``bench`` has no module here,
# and ``models evaluate|split`` and ``geo map`` (they read datasets and draw) are bench's too.
COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "dev": (
        ("dev",),
        "Start, stop and inspect the local infrastructure (Kafka, Redis, PostgreSQL).",
    ),
    "topics": (("topics",), "Create and list RiskLoop's Kafka topics."),
    "worker": (("run",), "Run a Faust worker: consume the source topics, score, warn, dispatch."),
    "demo": (("run",), "The main job end to end on a realistic sample."),
    "rules": (
        ("rules", "control"),
        "Rule packs: validate, test, backtest; publish, roll back, list.",
    ),
    "models": (
        ("models", "control"),
        "Online models: list, split, evaluate; publish, roll back, active.",
    ),
    "geo": (
        ("geo", "control"),
        "Muck-truck geofences: validate, map; publish, roll back, withdraw.",
    ),
    "replay": (("data",), "Stream a CSV / JSONL dataset into a source topic."),
    "validate": (("data",), "The worker's validation offline: accepted/rejected by reason."),
    "tasks": (("loop", "staff"), "Verification tasks: list, show, dispose, assign."),
    "alerts": (("loop", "staff"), "Warnings: a live, readable view for the risk centre; show one."),
    "sample": (("loop",), "A reproducible risk-weighted (双随机) inspection list."),
    "bench": ((), "The benchmark: processors, pipeline volume, latency (plug-in: bench/cli.py)."),
    "ops": (("ops",), "Operations helpers: dashboard snapshots, Redis views."),
    "status": (("control",), "The hot-load status of every worker: active versions, record ages."),
    "silence": (("control",), "Silences: maintenance windows, known closures (audited)."),
    "calendar": (("calendar",), "The working-day calendar (放假安排): publish, status, deadline."),
    "routes": (("routes",), "The task routing table: test where warnings go."),
    "users": (("users",), "People: tokens naming a person for the API (dev key)."),
    "console": (("console",), "The web console (控制台): situation, warnings, enterprises."),
    "report": (("report",), "Reports (研判): the daily and weekly report as PDF."),
    "deadletter": (
        ("deadletter",),
        "Rejected records: reason, masked preview; originals with the key.",
    ),
    "notifications": (
        ("notifications",),
        "The notification queue: what waits, for whom, and why.",
    ),
}

PLUGINS = "riskloop.commands"
"""Entry-point group of command plug-ins: one named after a command is called with the root app
after that command's own modules (pyproject.toml: ``bench`` adds ``bench``, ``ops
snapshot-dashboard``, ``models evaluate|split`` and ``geo map``), so ``streams`` never imports
the packages built on it. Entry points are read from the installed metadata: a new one is seen
after a reinstall (``scripts/bootstrap.sh`` does it when pyproject.toml changed)."""

_ROOT = dict(
    name="riskloop",
    help="RiskLoop: the risk-warning and disposal centre (风险预警处置中心) as a stream processor.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _new_root() -> typer.Typer:
    """The root app, empty: commands are added by :func:`_load`.

    Its callback keeps it a group: with only ``bench`` loaded, Typer would otherwise make the
    single command the root itself and read ``bench`` as an unexpected argument.
    """
    root = typer.Typer(**_ROOT)  # type: ignore[arg-type]
    root.callback()(_root_callback)
    return root


def _root_callback() -> None:
    """RiskLoop: the risk-warning and disposal centre (风险预警处置中心) as a stream processor."""


_app = _new_root()
_loaded: set[str] = set()


def _load(modules: tuple[str, ...] | list[str]) -> None:
    """Import these CLI modules once each and add their commands to the root app.

    Imported by name, lazily, because importing every command module costs ~4 s (River, SciPy,
    CEL) and most invocations need one. A module named in ``COMMANDS`` must exist: a missing one
    is an ImportError, not "No such command" (tests/unit/streams/cli/test_lazy_cli.py loads each command
    alone).
    """
    import importlib

    for name in modules:
        if name in _loaded:
            continue
        _loaded.add(name)
        module = importlib.import_module(f"streams.cli.{name}")
        if hasattr(module, "register"):
            module.register(_app)
        else:
            _app.add_typer(module.app, name=name)


def _load_all() -> None:
    _load([m for modules, _ in COMMANDS.values() for m in modules])
    for command in COMMANDS:
        _load_plugins(command)


def _load_plugins(command: str) -> None:
    """Call each installed plug-in for ``command`` once (``bench``: the benchmark's package)."""
    from importlib.metadata import entry_points

    for entry in entry_points(group=PLUGINS, name=command):
        if entry.value not in _loaded:
            _loaded.add(entry.value)
            entry.load()(_app)


def __getattr__(name: str) -> typer.Typer:
    """``streams.cli.app``: the root app with every command (tests drive it with CliRunner)."""
    if name == "app":
        _load_all()
        flow_help(_app)
        return _app
    raise AttributeError(name)


def _help_app() -> typer.Typer:
    """A root app whose commands are stand-ins carrying only their help: for ``--help`` alone."""
    lister = typer.Typer(**_ROOT)  # type: ignore[arg-type]
    for name, (_, text) in COMMANDS.items():
        lister.command(name, help=text, add_help_option=False)(_stand_in)
    return lister


def _stand_in() -> None:  # pragma: no cover - never invoked: main loads the real command first
    """Listed by ``riskloop --help`` in place of a command that is not imported."""


def _app_for(argv: list[str]) -> typer.Typer:
    """The root app with just what ``argv`` runs: its command's modules, or help stand-ins."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if command is None:
        return _help_app()
    if command in COMMANDS:
        _load(COMMANDS[command][0])
        _load_plugins(command)
    else:
        _load_all()  # an unknown name: let click say so, with the full list
    return _app


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; deliberate and usage errors become one line on stderr and exit 1 or 2."""
    try:
        args = sys.argv[1:] if argv is None else argv
        app = _app_for(args)
        flow_help(app)
        rv = app(args=args, standalone_mode=False)
        if isinstance(rv, int) and rv != 0:
            sys.exit(rv)
    except click_exc.NoArgsIsHelpError:
        sys.exit(2)
    except click_exc.UsageError as exc:
        ctx = exc.ctx
        where = ctx.command_path if ctx else "riskloop"
        fail(f"{exc.format_message()} (see `{where} --help`)", code=2)
    except typer.Abort:
        fail("aborted", code=130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except click_exc.ClickException as exc:
        fail(exc.format_message(), code=exc.exit_code)
    except RiskLoopError as exc:
        fail(str(exc), code=1)
    except KeyboardInterrupt:
        fail("interrupted", code=130)
