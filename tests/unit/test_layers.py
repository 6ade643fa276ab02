"""The packages' arrows point down: the I/O layer and the pure core never import the wiring.

``streams/`` wires everything together (agents, the checkpoint, the CLI); ``sinks/`` writes to
stores and ``loop/``, ``schemas/``, ``rules/``, ``models/``, ``geo/`` decide. If one of those
imported ``streams``, or ``streams`` the benchmark built on it, a change to the wiring would reach the layers below it, and an import
circle would be one edit away. A static scan (type-only imports included: they are arrows too).
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING

from config.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from pathlib import Path

BELOW_STREAMS = ("sinks", "loop", "schemas", "rules", "models", "geo", "config")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _offenders(packages: tuple[str, ...], forbidden: str) -> list[str]:
    bad = []
    for package in packages:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            for line, name in _imports(path):
                if name == forbidden or name.startswith(forbidden + "."):
                    bad.append(f"{path.relative_to(PROJECT_ROOT)}:{line} imports {name}")
    return bad


def test_nothing_below_streams_imports_streams() -> None:
    assert _offenders(BELOW_STREAMS, "streams") == []


def test_streams_does_not_import_the_benchmark() -> None:
    """``bench/`` builds on ``streams/``; its commands reach the CLI as a plug-in (pyproject)."""
    assert _offenders(("streams",), "bench") == []


def _module_level_imports(path: Path) -> list[tuple[int, str]]:
    """The imports that run (or are read by a type checker) when ``path`` is imported: at the
    top, in ``if``/``try``/``with`` blocks and class bodies, but not inside a function."""
    found: list[tuple[int, str]] = []
    pending: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"), filename=str(path))]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            pending.extend(ast.iter_child_nodes(node))
    return found


CONSOLE_COMMANDS = ("streams/cli/console.py", "streams/cli/report.py")
"""The CLI commands that start the console (``riskloop console``) or write its reports
(``riskloop report``): they load ``console/`` inside the command, when it runs."""


def test_the_console_sits_above_streams() -> None:
    """``console/`` is a client of the worker, like ``bench/``: it reads ``streams.api`` (the
    token policy, ``ApiError``), ``streams.logs`` and ``streams.admin``. Nothing below it
    imports it, and ``streams/`` only in the two commands that start it, inside the command:
    importing ``streams`` (a worker) never loads the console."""
    assert _offenders(BELOW_STREAMS, "console") == []
    lazy = _offenders(("streams",), "console")
    assert [bad for bad in lazy if not bad.startswith(CONSOLE_COMMANDS)] == []
    assert {bad.split(":")[0] for bad in lazy} == set(CONSOLE_COMMANDS), "the scan missed one"
    at_import = [
        f"{path.relative_to(PROJECT_ROOT)}:{line} imports {name}"
        for path in sorted((PROJECT_ROOT / "streams").rglob("*.py"))
        for line, name in _module_level_imports(path)
        if name == "console" or name.startswith("console.")
    ]
    assert at_import == []


def test_the_module_level_scan_skips_only_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import console.app\n"
        "class C:\n    from console import live\n"
        "def command() -> None:\n    from console.pages import home\n"
    )
    found = _module_level_imports(module)
    assert {name for _, name in found} == {"typing", "console.app", "console"}
    assert (7, "console.pages") in _imports(module)  # the whole-file scan sees the lazy one
    assert (7, "console.pages") not in found


CORE = ("schemas", "rules", "models", "geo", "loop", "sinks", "config")
"""The packages the worker and the pure core are made of: no tooling in them (issue #21)."""


def test_the_core_draws_nothing_and_reads_no_dataset() -> None:
    """Plotting (matplotlib) and the dataset and trajectory readers are the tools' work and live
    in ``bench/`` (``bench/plots.py``, ``bench/datasets.py``, ``bench/trajectories.py``); a core
    package importing either would bring them back into every worker."""
    assert [bad for tool in ("matplotlib", "bench") for bad in _offenders(CORE, tool)] == []


def test_the_readers_and_plots_are_gone_from_the_core() -> None:
    """The moved modules are not left behind (a stale copy would be a second owner)."""
    stale = [
        "geo/plot.py",
        "geo/bench.py",
        "models/datasets.py",
        "models/benchmarks.py",
        "models/protocol.py",
    ]
    assert [p for p in stale if (PROJECT_ROOT / p).exists()] == []


def test_the_scan_sees_an_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from streams.metrics import Metrics\n"
    )
    assert (3, "streams.metrics") in _imports(module)


def test_schemas_is_the_bottom_layer() -> None:
    """``schemas/`` holds the contracts everyone reads (the source catalogue included), so it
    imports none of the packages that read it."""
    above = ("config", "loop", "rules", "models", "geo", "sinks", "streams", "console", "bench")
    assert [bad for package in above for bad in _offenders(("schemas",), package)] == []


def _module_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module → the modules of ``package`` it imports (under ``root``): every import, inside
    functions and ``if TYPE_CHECKING:`` too, relative ones resolved, ``from m import name``
    counted as an import of ``m.name`` when that is a module."""
    files = {
        ".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): p
        for p in (root / package).rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = here[: len(here) - node.level + 1]
                    base = ".".join([*parts, *([node.module] if node.module else [])])
                names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
        graph[module] = {n for n in names if n in files and n != module}
    return graph


def _circle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle of ``graph`` (its modules in order, the first again at the end), or []."""
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        return list(exc.args[1])
    return []


def test_streams_has_no_import_circle() -> None:
    """``streams/app.py`` builds the worker context and wires the stages; the stages take the
    context (``streams/worker_context.py``) and never import ``streams.app``, so no stage can
    reach another through the app (issue #21: there was one circle of eighteen modules)."""
    graph = _module_graph(PROJECT_ROOT, "streams")
    assert len(graph) > 60, "the scan found too few modules of streams/: it would prove little"
    assert "streams.app" in graph["streams.runner"], "the scan missed a function-level import"
    assert _circle(graph) == []


def test_the_circle_scan_finds_two_modules_that_import_each_other(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import X\n"
    )
    circle = _circle(_module_graph(tmp_path, "pkg"))
    assert set(circle) == {"pkg.a", "pkg.b"}
    assert circle[0] == circle[-1]
    (package / "b.py").write_text("X = 1\n")
    assert _circle(_module_graph(tmp_path, "pkg")) == []


def test_loop_imports_neither_rules_nor_models() -> None:
    """The warning stage reads hits, task templates, scores, the rule sources and durations from
    ``schemas/`` (the contracts), so the rule engine and the models can change without reaching
    it, and ``rules/`` may read ``loop/`` (the routing table) without a circle."""
    assert _offenders(("loop",), "rules") + _offenders(("loop",), "models") == []
