"""Faust's private attributes are touched in two modules only, each naming the Faust issue.

A Faust upgrade can change any private attribute without notice; keeping every such access in
``streams/consumer.py`` (the consumer) and ``streams/health.py`` (agents' actors), with the
upstream issue it works around written beside it, is what makes an upgrade reviewable.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PRODUCT = ("streams", "sinks", "bench", "loop", "models", "rules", "geo", "schemas", "config")
ALLOWED = {ROOT / "streams" / "consumer.py", ROOT / "streams" / "health.py"}
FAUST_OBJECTS = {"app", "consumer", "agent", "table", "stream", "topic", "producer", "channel"}
"""Names under which Faust objects travel in this code base (``self.app`` included)."""

UPSTREAM = re.compile(r"(robinhood|faust-streaming)/faust#\d+")


def _owner(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr  # self.app._x, rt.app._x
    return None


def private_uses(source: str) -> list[int]:
    """Line numbers where ``source`` reads or writes a private attribute of a Faust object."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            if not node.attr.startswith("__") and _owner(node.value) in FAUST_OBJECTS:
                lines.append(node.lineno)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in {
            "getattr",
            "setattr",
        }:
            args = node.args
            if (
                len(args) >= 2
                and _owner(args[0]) in FAUST_OBJECTS
                and isinstance(args[1], ast.Constant)
                and str(args[1].value).startswith("_")
            ):
                lines.append(node.lineno)
    return lines


def test_the_scanner_sees_reads_writes_and_getattr() -> None:
    code = "x = consumer._read_offset\nself.app._commit = f\ny = getattr(agent, '_actors', ())\n"
    assert private_uses(code) == [1, 2, 3]
    assert private_uses("x = record._fields\nconsumer.assignment()\n") == []


def test_only_the_two_named_modules_touch_faust_private_attributes() -> None:
    offenders = []
    for folder in PRODUCT:
        for path in (ROOT / folder).rglob("*.py"):
            if path in ALLOWED:
                continue
            for line in private_uses(path.read_text(encoding="utf-8")):
                offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert offenders == [], "move Faust private access into streams/consumer.py (with its issue)"


def test_each_allowed_module_names_the_upstream_issue_it_works_around() -> None:
    for path in ALLOWED:
        text = path.read_text(encoding="utf-8")
        assert private_uses(text), f"{path.name} no longer needs its exemption"
        assert UPSTREAM.search(text), f"{path.name} must name the Faust issue it works around"
