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
from streams.cli import dev, run, topics
from streams.cli.common import fail

app = typer.Typer(
    name="riskloop",
    help="RiskLoop: the risk-warning and disposal centre (风险预警处置中心) as a stream processor.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(dev.app, name="dev")
app.add_typer(topics.app, name="topics")
run.register(app)


def _optional_groups() -> None:
    """Command groups whose modules may be absent in a partial checkout are added if present."""
    import importlib

    for name in (
        "rules", "models", "geo", "data", "loop", "bench", "ops", "control", "calendar", "routes",
        "staff",
    ):  # fmt: skip
        try:
            module = importlib.import_module(f"streams.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"streams.cli.{name}":
                continue
            raise
        if hasattr(module, "register"):
            module.register(app)
        else:
            app.add_typer(module.app, name=name)


_optional_groups()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; deliberate and usage errors become one line on stderr and exit 1 or 2."""
    try:
        rv = app(args=argv, standalone_mode=False)
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
