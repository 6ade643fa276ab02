"""The effect runner is the only code of the worker's handlers that produces or touches the
tables (issue #16).

Handlers return :class:`streams.effects.Message` lists; ``streams/effects.py`` (``run``) sends
them, and the checkpoint writes the state changelog. This scan reads every module of
``streams/`` and fails on a producing call (``send``, ``produce``, ``send_and_wait``,
``send_soon``, ``emit``) anywhere else, except in the modules listed with the reason they
are not a handler's effect. State is loaded and stored by ``streams/handle.py`` alone (around
the pure deciders of ``loop/decide/``): no other module of ``streams/``, its subpackages
included, reads the worker context's ``tables`` (``worker.tables``). And the deciders are pure: nothing in ``loop/`` imports
Kafka, Faust, Redis, SQL or the worker.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from config.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from pathlib import Path

STREAMS = PROJECT_ROOT / "streams"
PRODUCING = {"send", "produce", "send_and_wait", "send_soon", "emit"}
ALLOWED = {
    "effects.py": "the effect runner",
    "checkpoint.py": "the state changelog and its marker, in the commit order",
    "app.py": "the producer handle the checkpoint is given",
    "control.py": "control-plane status records (applied/refused), not an event's output",
    "notify.py": "notifications to people's channels, from the SQL queue, off the partitions",
    "demo.py": "the demo's input producer (a client of the worker)",
    "producer.py": "the producers' factory: the worker's (WorkerProducer) and the CLI's",
    "replay.py": "the CLI's replay (a client of the worker)",
    "publish.py": "the CLI publishing rule packs, models, fences (a client)",
    "verdicts.py": "the HTTP API sending a disposition and awaiting its verdict (a client)",
    "hotload_answers.py": "answers to a publisher, from the control plane",
}
TABLE_KEEPERS = {
    "handle.py": "loads and stores every handler's state around its decider",
    "app.py": "declares the tables on the store and hands the event clocks their view",
    "tables.py": "the tables' declaration",
    "checkpoint.py": "writes the changed keys to the changelog",
    "state.py": "the partition store itself",
}
"""The only modules of ``streams/`` that may read ``worker.tables`` (or hold the views)."""
LOOP = PROJECT_ROOT / "loop"
IMPURE = ("streams", "sinks", "faust", "mode", "aiokafka", "confluent_kafka", "redis", "sqlalchemy")


def _calls(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in PRODUCING:
                found.append((node.lineno, ast.unparse(func)))
    return found


def _table_uses(path: Path) -> list[int]:
    """Lines naming the worker's tables: ``tables`` of the worker context, which every stage
    calls ``worker`` (``streams/worker_context.py``; a partition state's own ``tables`` dict,
    as the dedup window reads it, is not the handlers' state)."""
    tree = ast.parse(path.read_text("utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "tables"
        and ast.unparse(node.value).split(".")[-1] == "worker"
    ]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_only_the_runner_and_the_checkpoint_produce() -> None:
    modules = sorted(STREAMS.glob("*.py"))
    assert len(modules) > 30, "the scan found no modules: it would prove nothing"
    offending = {p.name: calls for p in modules if p.name not in ALLOWED and (calls := _calls(p))}
    assert offending == {}
    assert _calls(STREAMS / "effects.py"), "the runner itself was not seen sending"
    for name in ALLOWED:
        assert (STREAMS / name).exists(), f"{name} is gone: drop it from ALLOWED"


def test_only_the_runner_touches_tables() -> None:
    modules = sorted(STREAMS.rglob("*.py"))
    assert len(modules) > 60, "the scan missed the subpackages: it would prove little"
    touching = {
        str(p.relative_to(STREAMS)): lines
        for p in modules
        if str(p.relative_to(STREAMS)) not in TABLE_KEEPERS and (lines := _table_uses(p))
    }
    assert touching == {}, "load and store through streams/handle.py (decide, load)"
    assert _table_uses(STREAMS / "handle.py"), "the runner itself was not seen: the scan is off"
    for name in TABLE_KEEPERS:
        assert (STREAMS / name).exists(), f"{name} is gone: drop it from TABLE_KEEPERS"


def test_the_scan_sees_a_table_write(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f(app):\n    app.worker.tables.tasks['t'] = 1\n", "utf-8")
    assert _table_uses(sneaky) == [2]


def test_the_deciders_are_pure() -> None:
    modules = sorted(LOOP.rglob("*.py"))
    assert (LOOP / "decide" / "tasks.py") in modules
    impure = {str(p.relative_to(LOOP)): bad for p in modules if (bad := _imports(p) & set(IMPURE))}
    assert impure == {}
