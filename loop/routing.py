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

:func:`resolve` says also *why* (which route gave each department), which is what
``riskloop routes test`` prints; a task whose first department comes from a catch-all route
(any source, any item code: the province's intake) or from the template default was not
routed by anything that knows its risk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import yaml
from pydantic import BaseModel, ConfigDict

from config.settings import PROJECT_ROOT
from loop.errors import RoutingError
from schemas.errors import ConfigError
from schemas.sources import RULE_SOURCES

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

    from schemas.hits import TaskTemplate

DEFAULT_PATH = PROJECT_ROOT / "config" / "routing.yaml"
_REGION = re.compile(r"\d{6}", re.ASCII)  # GB/T 2260 digits only, not "１１０１００"
_DEPARTMENT = re.compile(r"[A-Za-z0-9_-]{1,100}")  # a legal, dot-free Kafka topic suffix
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
        """Sort key: the route naming more (exact item code, source, longer prefix) wins."""
        if self.item_code == "*":
            item = 0
        elif self.item_code.endswith("*"):
            item = 1
        else:
            item = 2
        return item, int(self.source != "*"), len(self.item_code)

    def matches(self, source: str, item_code: str) -> bool:
        """Whether the route covers ``source`` and ``item_code`` (``*``, trailing ``*`` match)."""
        if self.source not in ("*", source):
            return False
        if self.item_code.endswith("*"):
            return item_code.startswith(self.item_code[:-1])
        return self.item_code == item_code

    @property
    def catch_all(self) -> bool:
        """Any source, any item code: an intake, not a department that knows the risk."""
        return self.source == "*" and self.item_code == "*"

    def describe(self) -> str:
        """Where the route sits and what it matches, as ``riskloop routes`` prints it."""
        return f"line {self.line}: source={self.source} item_code={self.item_code} region={self.region}"


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where a task goes and why: each candidate department with the route that named it
    (``None``: the rule template's default, no route matched)."""

    departments: tuple[str, ...]
    routes: tuple[Route | None, ...]

    @property
    def department(self) -> str:
        """The department the task goes to first; the others take it if this one returns it."""
        return self.departments[0]

    @property
    def route(self) -> Route | None:
        """The route that chose the first department (``None``: the template's default)."""
        return self.routes[0]

    @property
    def routed(self) -> bool:
        """Reached a named department through a route that is not a catch-all."""
        return self.route is not None and not self.route.catch_all


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
    if not region_code or not _REGION.fullmatch(region_code):
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
    resolution = resolve(
        table, source=source, item_code=item_code, region_code=region_code, default=default
    )
    return list(resolution.departments)


_Labels = tuple[str, str, str | None, str | None]
_RESOLVED_MAX = 4096  # distinct (source, item code, region, default) remembered per table


_Answers = dict[_Labels, Resolution]
_last: tuple[RoutingTable | None, _Answers] = (None, {})
"""The resolutions of the table last asked about: one slot, since one table is active at a
time and a reload builds a new table (which starts a new slot). One tuple, read once per call,
so a thread asking about another table never reads this one's answers."""


def resolve(
    table: RoutingTable,
    *,
    source: str,
    item_code: str,
    region_code: str | None,
    default: str | None = None,
) -> Resolution:
    """:func:`candidates` with the route behind each department (the first one that named it).

    A resolution is a pure function of the (immutable) table and the four labels, and
    returned frozen: it is remembered per table instead of walking every route of the four
    region levels again for every task a warning opens (1 % of the worker's samples)."""
    global _last  # the one-slot memo above
    last, answers = _last
    if last is not table:
        answers = {}
        _last = (table, answers)
    labels = (source, item_code, region_code, default)
    answer = answers.get(labels)
    if answer is None:
        answer = _resolve(table, source, item_code, region_code, default)
        if len(answers) >= _RESOLVED_MAX:
            answers.clear()
        answers[labels] = answer
    return answer


def _resolve(
    table: RoutingTable,
    source: str,
    item_code: str,
    region_code: str | None,
    default: str | None,
) -> Resolution:
    found: dict[str, Route | None] = {}
    for region in region_chain(region_code):
        level = [r for r in table.routes if r.region == region and r.matches(source, item_code)]
        for route in sorted(level, key=lambda r: r.specificity(), reverse=True):
            for department in route.departments:
                found.setdefault(department, route)
    if default:
        found.setdefault(default, None)
    if not found:
        raise RoutingError(
            f"no department for source={source!r} item_code={item_code!r} "
            f"region={region_code!r}: add a route to config/routing.yaml or a department to "
            "the rule's task template"
        )
    return Resolution(departments=tuple(found), routes=tuple(found.values()))


_LABELS = ("source", "item_code", "region_code", "department")


def parse_labels(pairs: Sequence[str]) -> dict[str, str]:
    """``key=value`` words as a warning's routing labels (``department``: the template's).

    >>> parse_labels(["source=inspections", "item_code=YJ-ZFJC-001", "region_code=330106"])
    {'source': 'inspections', 'item_code': 'YJ-ZFJC-001', 'region_code': '330106'}
    """
    labels: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"{pair!r} is not a label: write key=value, e.g. source=complaints")
        if key not in _LABELS:
            raise ConfigError(f"unknown label {key!r}: routing reads {', '.join(_LABELS)}")
        labels[key] = value
    if "source" not in labels:
        raise ConfigError("a warning's labels need source=… (" + ", ".join(RULE_SOURCES) + ")")
    if labels["source"] not in RULE_SOURCES:
        raise ConfigError(
            f"unknown source {labels['source']!r}: warnings come from {', '.join(RULE_SOURCES)}"
        )
    if labels.get("region_code"):
        require_region(labels["region_code"])
    return labels


def require_region(code: str) -> str:
    """``code`` if it is a 6-digit GB/T 2260 region code, else one clear line."""
    if not _REGION.fullmatch(code):
        raise ConfigError(f"region code {code!r} must be 6 digits (GB/T 2260), e.g. 330106")
    return code


@dataclass(frozen=True, slots=True)
class RuleRoute:
    """Where the warnings of one rule, raised by one of its sources, are routed."""

    pack: str
    rule_id: str
    source: str
    item_code: str
    resolution: Resolution


class _RuleSpec(Protocol):
    @property
    def sources(self) -> Sequence[str]: ...
    @property
    def item_code(self) -> str: ...


class _Rule(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def spec(self) -> _RuleSpec: ...
    @property
    def template(self) -> TaskTemplate | None: ...


class RoutedPack(Protocol):
    """What :func:`rule_routes` reads of a compiled rule pack (``rules.compiler.CompiledPack``):
    a protocol, so the warning stage never imports the rule engine."""

    @property
    def name(self) -> str:
        """The pack's name, the first column of ``riskloop routes test``."""
        ...

    @property
    def rules(self) -> Sequence[_Rule]:
        """The pack's compiled rules."""
        ...


def rule_routes(
    table: RoutingTable, packs: Iterable[RoutedPack], region_code: str
) -> list[RuleRoute]:
    """Every active rule × source of ``packs`` (compiled rule packs) routed from ``region_code``.

    A hit carries the source of the event that completed it, so a rule over two sources makes
    warnings of either; shadow rules never make tasks and are left out.
    """
    rows = []
    for pack in packs:
        for rule in pack.rules:
            if rule.mode == "shadow":
                continue
            default = rule.template.department if rule.template else None
            for source in rule.spec.sources:
                resolution = resolve(
                    table,
                    source=source,
                    item_code=rule.spec.item_code,
                    region_code=region_code,
                    default=default,
                )
                rows.append(RuleRoute(pack.name, rule.id, source, rule.spec.item_code, resolution))
    return rows


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
    source = entry.get("source")
    if isinstance(source, str) and source.strip() and source != "*" and source not in RULE_SOURCES:
        errors.append(
            f"source {source!r} is never on a warning (one of {', '.join(RULE_SOURCES)}, or '*')"
        )
    region = entry.get("region")
    if isinstance(region, str) and region != "*" and not _REGION.fullmatch(region):
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
            if not isinstance(d, str) or not _DEPARTMENT.fullmatch(d)
        )
        if len(set(map(str, departments))) != len(departments):
            errors.append("departments lists a department twice")
    return errors
