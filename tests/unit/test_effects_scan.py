"""The effect runner is the only code of the worker's handlers that produces (issue #16).

Handlers return :class:`streams.effects.Message` lists; ``streams/effects.py`` (``run``) sends
them, and the checkpoint writes the state changelog. This scan reads every module of
``streams/`` and fails on a producing call (``send``, ``produce``, ``send_and_wait``,
``send_soon``, ``emit``) anywhere else, except in the modules listed with the reason they
are not a handler's effect.
"""

from __future__ import annotations

import ast
from pathlib import Path

from config.settings import PROJECT_ROOT

STREAMS = PROJECT_ROOT / "streams"
PRODUCING = {"send", "produce", "send_and_wait", "send_soon", "emit"}
ALLOWED = {
    "effects.py": "the effect runner",
    "checkpoint.py": "the state changelog and its marker, in the commit order",
    "app.py": "the producer handle the checkpoint is given",
    "control.py": "control-plane status records (applied/refused), not an event's output",
    "notify.py": "notifications to people's channels, from the SQL queue, off the partitions",
    "demo.py": "the demo's input producer (a client of the worker)",
    "producer.py": "the CLI's input producer (replay, backfill)",
    "replay.py": "the CLI's replay (a client of the worker)",
    "publish.py": "the CLI publishing rule packs, models, fences (a client)",
    "verdicts.py": "the HTTP API sending a disposition and awaiting its verdict (a client)",
    "hotload_answers.py": "answers to a publisher, from the control plane",
}
TABLE_WRITERS = {"alerting.py", "feedback.py", "tasks.py"}
"""Modules that still assign to ``app.riskloop_tables`` themselves (loads and stores are not in
the runner yet): a ratchet, so no new one appears."""


def _calls(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in PRODUCING:
                found.append((node.lineno, ast.unparse(func)))
    return found


def _table_writes(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AugAssign):
            targets = [node.target]
        lines += [
            node.lineno
            for t in targets
            if isinstance(t, ast.Subscript) and "riskloop_tables" in ast.unparse(t)
        ]
    return lines


def test_only_the_runner_and_the_checkpoint_produce() -> None:
    modules = sorted(STREAMS.glob("*.py"))
    assert len(modules) > 30, "the scan found no modules: it would prove nothing"
    offending = {p.name: calls for p in modules if p.name not in ALLOWED and (calls := _calls(p))}
    assert offending == {}
    assert _calls(STREAMS / "effects.py"), "the runner itself was not seen sending"
    for name in ALLOWED:
        assert (STREAMS / name).exists(), f"{name} is gone: drop it from ALLOWED"


def test_no_new_module_writes_tables() -> None:
    writers = {p.name for p in STREAMS.glob("*.py") if _table_writes(p)}
    assert writers <= TABLE_WRITERS
    assert writers, "no table write seen: the scan would prove nothing"
