"""Routing: which department gets a task, and where it goes next when returned (退单).

The table (``config/routing.yaml``) maps source × item code × region to an ordered list of
departments. Lookup walks the jurisdiction upwards — county, city, province (GB/T 2260: the
code with its last two, then four digits zeroed), then ``'*'`` — and within one region level
prefers the most specific entry (exact item code over a ``prefix*`` over ``'*'``, then exact
source over ``'*'``). Every match along the way adds its departments to the candidate list, and
the rule template's department comes last as the default, so a returned task moves on to the
next plausible holder instead of bouncing back to the same one.

A department's task topic is ``tasks.<department>`` (the prefix is a setting).

>>> table = parse_table('''
... routes:
...   - {source: complaints, item_code: "*", region: "330106", departments: [xihu_market]}
...   - {source: "*", item_code: "*", region: "330100", departments: [hz_market, hz_housing]}
... ''')
>>> candidates(table, source="complaints", item_code="A01", region_code="330106", default="zj_market")
['xihu_market', 'hz_market', 'hz_housing', 'zj_market']
>>> topic_for("xihu_market")
'tasks.xihu_market'
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from config.settings import PROJECT_ROOT
from loop.errors import RoutingError
from schemas.errors import ConfigError

DEFAULT_PATH = PROJECT_ROOT / "config" / "routing.yaml"
_REGION = re.compile(r"^\d{6}$")
_DEPARTMENT = re.compile(r"^[A-Za-z0-9_-]{1,100}$")  # a legal, dot-free Kafka topic suffix
_KEYS = {"source", "item_code", "region", "departments", "note"}


class Route(BaseModel):
    """One entry of the table; ``line`` is where it sits in the file, for error messages."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    item_code: str
    region: str
    departments: tuple[str, ...]
    line: int = 0

    def specificity(self) -> tuple[int, int, int]:
        if self.item_code == "*":
            item = 0
        elif self.item_code.endswith("*"):
            item = 1
        else:
            item = 2
        return item, int(self.source != "*"), len(self.item_code)

    def matches(self, source: str, item_code: str) -> bool:
        if self.source not in ("*", source):
            return False
        if self.item_code.endswith("*"):
            return item_code.startswith(self.item_code[:-1])
        return self.item_code == item_code


class RoutingTable(BaseModel):
    """A validated routing table (immutable; reload by building a new one)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    routes: tuple[Route, ...] = ()


def region_chain(region_code: str | None) -> list[str]:
    """County → city → province → ``'*'`` for a GB/T 2260 code.

    >>> region_chain("330106")
    ['330106', '330100', '330000', '*']
    >>> region_chain(None)
    ['*']
    """
    if not region_code or not _REGION.match(region_code):
        return ["*"]
    chain = [region_code, region_code[:4] + "00", region_code[:2] + "0000", "*"]
    return list(dict.fromkeys(chain))


def candidates(
    table: RoutingTable,
    *,
    source: str,
    item_code: str,
    region_code: str | None,
    default: str | None = None,
) -> list[str]:
    """Departments in the order a task should try them; raises if there is none at all."""
    found: list[str] = []
    for region in region_chain(region_code):
        level = [r for r in table.routes if r.region == region and r.matches(source, item_code)]
        for route in sorted(level, key=lambda r: r.specificity(), reverse=True):
            found.extend(route.departments)
    if default:
        found.append(default)
    ordered = list(dict.fromkeys(found))
    if not ordered:
        raise RoutingError(
            f"no department for source={source!r} item_code={item_code!r} "
            f"region={region_code!r}: add a route to config/routing.yaml or a department to "
            "the rule's task template"
        )
    return ordered


def topic_for(department: str, prefix: str = "tasks.") -> str:
    """The Kafka topic a department reads its tasks from."""
    return f"{prefix}{department}"


def load_table(path: Path | None = None) -> RoutingTable:
    """Read and validate the routing table file."""
    path = path or DEFAULT_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the routing table: {exc}") from exc
    return parse_table(text, name=str(path))


def parse_table(text: str, name: str = "routing.yaml") -> RoutingTable:
    """Validate a routing table, naming the line and entry of every problem at once."""
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{name}: not valid YAML: {exc}") from exc
    if data is None:
        return RoutingTable()
    if not isinstance(data, dict) or not isinstance(data.get("routes", []), list):
        raise ConfigError(f"{name}: expected a mapping with a 'routes' list at the top")
    entries: list[Any] = data.get("routes") or []
    lines = _entry_lines(root, len(entries))
    problems: list[str] = []
    routes: list[Route] = []
    first_line: dict[tuple[str, str, str], int] = {}
    for index, (entry, line) in enumerate(zip(entries, lines, strict=True), start=1):
        where = f"{name} line {line} (route #{index})"
        errors = _check_entry(entry)
        if errors:
            problems.extend(f"{where}: {e}" for e in errors)
            continue
        route = Route(
            source=entry["source"],
            item_code=entry["item_code"],
            region=entry["region"],
            departments=tuple(entry["departments"]),
            line=line,
        )
        key = (route.source, route.item_code, route.region)
        if key in first_line:
            problems.append(f"{where}: duplicates the route on line {first_line[key]}")
            continue
        first_line[key] = line
        routes.append(route)
    if problems:
        raise ConfigError("invalid routing table:\n  " + "\n  ".join(problems))
    return RoutingTable(routes=tuple(routes))


def _entry_lines(root: yaml.Node | None, count: int) -> list[int]:
    """1-based line of each entry of ``routes`` (0 if the file's shape hides it)."""
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "routes" and isinstance(value, yaml.SequenceNode):
                return [item.start_mark.line + 1 for item in value.value]
    return [0] * count


def _check_entry(entry: Any) -> list[str]:
    if not isinstance(entry, dict):
        return ["each route must be a mapping with source, item_code, region, departments"]
    errors = [f"unknown key {k!r} (allowed: {sorted(_KEYS)})" for k in entry if k not in _KEYS]
    for key in ("source", "item_code", "region"):
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            errors.append(f"{key} must be a non-empty string ('*' matches anything)")
    region = entry.get("region")
    if isinstance(region, str) and region != "*" and not _REGION.match(region):
        errors.append(f"region {region!r} must be '*' or a 6-digit GB/T 2260 code, e.g. 330106")
    item = entry.get("item_code")
    if isinstance(item, str) and "*" in item[:-1]:
        errors.append(f"item_code {item!r}: '*' may only end a prefix, e.g. 'A01*'")
    departments = entry.get("departments")
    if not isinstance(departments, list) or not departments:
        errors.append("departments must be a non-empty list, primary first")
    else:
        errors.extend(
            f"department {d!r} must be letters, digits, '_' or '-' (it names topic tasks.<department>)"
            for d in departments
            if not isinstance(d, str) or not _DEPARTMENT.match(d)
        )
        if len(set(map(str, departments))) != len(departments):
            errors.append("departments lists a department twice")
    return errors
