"""The packages' arrows point down: the I/O layer and the pure core never import the wiring.

``streams/`` wires everything together (agents, the checkpoint, the CLI); ``sinks/`` writes to
stores and ``loop/``, ``schemas/``, ``rules/``, ``models/``, ``geo/`` decide. If one of those
imported ``streams``, or ``streams`` the benchmark built on it, a change to the wiring would reach the layers below it, and an import
circle would be one edit away. A static scan (type-only imports included: they are arrows too).
"""

from __future__ import annotations

import ast
from pathlib import Path

from config.settings import PROJECT_ROOT

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


def test_loop_imports_neither_rules_nor_models() -> None:
    """The warning stage reads hits, task templates, scores, the rule sources and durations from
    ``schemas/`` (the contracts), so the rule engine and the models can change without reaching
    it, and ``rules/`` may read ``loop/`` (the routing table) without a circle."""
    assert _offenders(("loop",), "rules") + _offenders(("loop",), "models") == []
