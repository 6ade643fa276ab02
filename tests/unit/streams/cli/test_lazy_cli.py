"""``riskloop --help`` lists every command without importing the heavy libraries.

Not a timing test: it checks *what* a fresh interpreter imports (``sys.modules``), which is what
made every command take ~5 s (River and SciPy ~2 s, CEL, Faust, SQLAlchemy).
"""

from __future__ import annotations

import json
import subprocess
import sys

from config.settings import PROJECT_ROOT
from streams.cli import COMMANDS

HEAVY = ("river", "scipy", "faust", "sqlalchemy", "cel", "numpy", "aiokafka", "pydantic_settings")

_PROBE = """
import contextlib, io, json, sys
from streams.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main({argv!r})
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
print(json.dumps({{"code": code, "out": out.getvalue(),
                  "heavy": sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))}}))
"""


def _run(argv: list[str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(argv=argv, heavy=HEAVY)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_help_lists_every_command_and_imports_nothing_heavy() -> None:
    result = _run(["--help"])
    assert result["code"] == 0
    assert result["heavy"] == []
    for name in COMMANDS:
        assert f" {name} " in str(result["out"])


def test_a_command_imports_only_its_own_modules() -> None:
    result = _run(["tasks", "--help"])
    assert result["code"] == 0
    assert "dispose" in str(result["out"])
    assert "river" not in result["heavy"]
    assert "scipy" not in result["heavy"]


def test_the_full_app_still_has_every_command() -> None:
    from typer.main import get_command

    from streams.cli import app

    group = get_command(app)
    names = set(group.commands)  # type: ignore[attr-defined]
    assert set(COMMANDS) <= names
    assert {"publish", "validate", "backtest"} <= set(group.commands["rules"].commands)  # type: ignore[attr-defined]


def test_each_command_alone_is_still_a_subcommand() -> None:
    """Loading one module must not turn a lone command into the root (Typer's single-command
    mode): ``riskloop bench --quick`` read ``bench`` as an unexpected argument."""
    from typer.main import get_command

    import streams.cli as cli

    kept = cli._app, set(cli._loaded)
    try:
        for name in COMMANDS:
            cli._app, cli._loaded = cli._new_root(), set()  # a fresh process: nothing loaded
            group = get_command(cli._app_for([name]))
            assert name in getattr(group, "commands", {}), f"{name} became the root command"
    finally:
        cli._app, cli._loaded = kept[0], kept[1]
