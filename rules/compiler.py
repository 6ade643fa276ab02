"""YAML → validated spec → immutable compiled pack, with every problem found at load.

Compiling is where a pack earns trust: each CEL expression compiles once, each identifier is
checked against its source's schema, and each expression runs against a typed probe event, so a
type error (``event.critical_count > "x"``) is refused with the rule and expression named, not
discovered as a rule that silently never fires. The result is frozen; activating it is one
reference swap (``rules.pack_registry``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import cel
import yaml
from pydantic import ValidationError

from rules.errors import PackInvalid
from rules.expressions import bound_names, event_path_segments, event_paths, split_boolean
from rules.limits import expression_problems, text_problems, yaml_problems
from rules.sources import DEFAULT_ENTITY, field_names, is_mapping_field, probe_event
from rules.spec import (
    AbsenceWindow,
    AggregateWindow,
    DurationWindow,
    PackSpec,
    RuleSpec,
    SequenceWindow,
)
from rules.values import did_you_mean, value_problems
from schemas.durations import parse_duration

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from schemas.hits import TaskTemplate

Expect = Literal["bool", "number", "scalar"]
WindowKind = Literal["plain", "aggregate", "duration", "absence", "sequence"]


@dataclass(frozen=True)
class CompiledStep:
    """One step of a sequence rule: a source and its compiled condition."""

    source: str
    condition: Any  # cel.Program
    paths: tuple[str, ...]


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to run: programs compiled once, provenance attached."""

    spec: RuleSpec
    pack: str
    pack_version: str
    pack_hash: str
    condition: Any  # cel.Program
    paths: tuple[str, ...]
    entity_fields: Mapping[str, tuple[str, ...]]
    group_fields: tuple[str, ...] | None = None
    group_expr: Any = None  # cel.Program | None
    clear: Any = None  # cel.Program | None
    value: Any = None  # cel.Program | None
    steps: tuple[CompiledStep, ...] = ()
    seconds: int = 0  # window size / for / after / within
    template: TaskTemplate | None = None

    # Read for every rule of every event (52,000 times for 2,000 events): kept after the first
    # read rather than looked up through the spec each time (the spec is frozen too).
    @cached_property
    def id(self) -> str:
        """The rule's id: it keys the rule's window state and names the rule in a
        warning's reasons.
        """
        return self.spec.id

    @cached_property
    def mode(self) -> str:
        """``active``, ``shadow`` (evaluated; its hits go to ``alerts.shadow`` and make no
        task) or ``disabled`` (not evaluated).
        """
        return self.spec.mode

    @cached_property
    def kind(self) -> WindowKind:
        """The window kind, ``plain`` for a rule without one: which evaluator the engine
        runs for it.
        """
        return self.spec.window.kind if self.spec.window is not None else "plain"


@dataclass(frozen=True)
class CompiledPack:
    """An immutable, content-hashed pack version; what the registry swaps in and out."""

    spec: PackSpec
    content_hash: str
    rules: tuple[CompiledRule, ...]
    text: str = field(default="", repr=False)

    @property
    def name(self) -> str:
        """The pack's name: what a newer version replaces and ``rules rollback NAME`` names."""
        return self.spec.name

    @property
    def version(self) -> str:
        """The version the modeller wrote; with ``content_hash`` it tells a republish
        from a change.
        """
        return self.spec.version

    @property
    def rule_ids(self) -> frozenset[str]:
        """The ids of the pack's rules: comparing two versions' ids finds the rules a new
        version dropped, whose window state must go.
        """
        return frozenset(r.id for r in self.rules)


# ------------------------------------------------------------------ hashing


def canonical_yaml(data: Any) -> str:
    """One text per meaning: keys sorted, comments and layout gone, so the hash ignores them."""
    return yaml.safe_dump(data, sort_keys=True, allow_unicode=True, default_flow_style=False)


def content_hash(data: Any) -> str:
    """``sha256:<hex>`` of the canonical YAML of a parsed pack."""
    return "sha256:" + hashlib.sha256(canonical_yaml(data).encode("utf-8")).hexdigest()


# ------------------------------------------------------------------ loading


def load_pack(path: str | Path) -> CompiledPack:
    """Read, validate and compile one pack file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PackInvalid(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from exc
    return load_pack_text(text, origin=str(path))


def load_pack_text(text: str, origin: str = "<pack>") -> CompiledPack:
    """Validate and compile a pack from its YAML text (e.g. a control-topic publication).

    The cost limits of ``rules.limits`` come first: a pack too big, or one that multiplies
    itself through YAML aliases, is refused before parsing spends anything on it.
    """
    problems = text_problems(text) or yaml_problems(text)
    if problems:
        raise PackInvalid(origin, problems)
    raw = _parse_yaml(text, origin)
    spec = _validate_spec(raw, origin)
    return compile_pack(spec, content_hash(raw), origin=origin, text=text)


def load_packs(paths: Iterable[str | Path]) -> list[CompiledPack]:
    """Every pack of the given files and folders (``*.yaml`` inside a folder), sorted by path."""
    return [load_pack(p) for p in expand_paths(paths)]


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; a folder stands for its ``*.yaml``/``*.yml`` files."""
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(sorted([*p.glob("*.yaml"), *p.glob("*.yml")]) if p.is_dir() else [p])
    return out


def _parse_yaml(text: str, origin: str) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PackInvalid(origin, [f"not valid YAML{where}: {problem}"]) from exc
    except RecursionError as exc:  # nesting deeper than the parser's stack (100 KB of "[")
        raise PackInvalid(origin, ["nested too deeply to be a rule pack"]) from exc
    except ValueError as exc:  # an integer past Python's 4,300-digit conversion limit
        raise PackInvalid(origin, [f"not valid YAML: {str(exc).splitlines()[0][:200]}"]) from exc
    if not isinstance(raw, dict):
        raise PackInvalid(origin, ["a pack is a YAML mapping with name, version, owner, rules"])
    return raw


def _validate_spec(raw: dict[str, Any], origin: str) -> PackSpec:
    try:
        return PackSpec.model_validate(raw)
    except ValidationError as exc:
        raise PackInvalid(origin, [_describe(err, raw) for err in exc.errors()]) from exc


def _describe(err: Any, raw: dict[str, Any]) -> str:
    loc = list(err.get("loc", ()))
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    where = "pack"
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = raw.get("rules") or []
        rid = (
            rules[loc[1]].get("id")
            if loc[1] < len(rules) and isinstance(rules[loc[1]], dict)
            else None
        )
        where = f"rule {rid}" if rid else f"rule #{loc[1] + 1}"
        loc = loc[2:]
    tags = {"aggregate", "duration", "absence", "sequence", "str", "list[str]"}
    parts = [f"[{p}]" if isinstance(p, int) else str(p) for p in loc if p not in tags]
    dotted = ".".join(parts).replace(".[", "[")
    return f"{where}: {dotted}: {msg}" if dotted else f"{where}: {msg}"


# ------------------------------------------------------------------ compiling


def compile_pack(
    spec: PackSpec, digest: str, origin: str = "<pack>", text: str = ""
) -> CompiledPack:
    """Compile every rule; raise :class:`PackInvalid` listing all problems if any."""
    problems: list[str] = []
    rules = []
    for rule in spec.rules:
        compiled = _compile_rule(rule, spec, digest, problems)
        if compiled is not None:
            rules.append(compiled)
    if problems:
        raise PackInvalid(origin, problems)
    return CompiledPack(spec=spec, content_hash=digest, rules=tuple(rules), text=text)


def _compile_rule(
    rule: RuleSpec, pack: PackSpec, digest: str, problems: list[str]
) -> CompiledRule | None:
    before = len(problems)
    window = rule.window
    check = _Checker(rule.id, problems)
    condition = check.expression("condition", rule.condition, rule.sources, "bool")
    entity: dict[str, tuple[str, ...]] = {
        s: rule.entity_fields or DEFAULT_ENTITY[s] for s in rule.sources
    }
    check.fields("entity", rule.entity_fields or (), rule.sources)
    group_fields: tuple[str, ...] | None = None
    group_expr = None
    if isinstance(rule.group_key, list):
        group_fields = tuple(rule.group_key)
        check.fields("group_key", group_fields, rule.sources)
    elif isinstance(rule.group_key, str):
        group_expr = check.expression("group_key", rule.group_key, rule.sources, "scalar")
    clear = value = None
    steps: list[CompiledStep] = []
    seconds = 0
    if isinstance(window, AggregateWindow):
        seconds = parse_duration(window.size)
        if window.value:
            value = check.expression("window.value", window.value, rule.sources, "number")
    elif isinstance(window, DurationWindow | AbsenceWindow):
        seconds = parse_duration(
            window.for_ if isinstance(window, DurationWindow) else window.after
        )
        if window.clear:
            clear = check.expression("window.clear", window.clear, rule.sources, "bool")
    elif isinstance(window, SequenceWindow):
        seconds = parse_duration(window.within)
        for i, step in enumerate(window.steps):
            program = check.expression(
                f"window.steps[{i}].condition", step.condition, [step.source], "bool"
            )
            steps.append(CompiledStep(step.source, program, event_paths(step.condition)))
    if len(problems) > before:
        return None
    return CompiledRule(
        spec=rule,
        pack=pack.name,
        pack_version=pack.version,
        pack_hash=digest,
        condition=condition,
        paths=event_paths(rule.condition),
        entity_fields=entity,
        group_fields=group_fields,
        group_expr=group_expr,
        clear=clear,
        value=value,
        steps=tuple(steps),
        seconds=seconds,
        template=rule.task.template() if rule.task else None,
    )


@dataclass
class _Checker:
    """Collects the problems of one rule's expressions, each naming the rule and the field."""

    rule_id: str
    problems: list[str]

    def add(self, where: str, message: str) -> None:
        line = f"rule {self.rule_id}: {where}: {message}"
        if line not in self.problems:
            self.problems.append(line)

    def fields(self, where: str, names: Iterable[str], sources: Iterable[str]) -> None:
        for name in names:
            for source in sources:
                if name not in field_names(source):
                    hint = did_you_mean(name, field_names(source))
                    self.add(where, f"{source} events have no field {name!r}{hint}")

    def expression(self, where: str, expr: str, sources: Iterable[str], expect: Expect) -> Any:
        costly = expression_problems(expr)
        for problem in costly:
            self.add(where, problem)
        if costly:  # compiling or probing it is the very cost the limit is there to avoid
            return None
        try:
            program = cel.compile(expr)
        except (ValueError, RuntimeError, TypeError) as exc:
            self.add(where, f"`{expr}` does not parse: {_first_line(exc)}")
            return None
        free = set(program.variables()) - bound_names(expr) - {"event"}
        for name in sorted(free):
            self.add(where, f"`{expr}` uses unknown variable {name!r}; fields are event.<field>")
        sources = list(sources)
        map_keys = self._paths(where, expr, sources)
        for source in sources:
            for problem in value_problems(expr, source):
                self.add(where, problem)
        if self._has_problem(where):
            return None
        for source in sources:
            self._probe(where, expr, program, source=source, map_keys=map_keys, expect=expect)
        return None if self._has_problem(where) else program

    def _has_problem(self, where: str) -> bool:
        prefix = f"rule {self.rule_id}: {where}:"
        return any(p.startswith(prefix) for p in self.problems)

    def _paths(self, where: str, expr: str, sources: list[str]) -> dict[str, set[str]]:
        map_keys: dict[str, set[str]] = {}
        for segments in event_path_segments(expr):
            head = segments[0]
            for source in sources:
                if head not in field_names(source):
                    hint = did_you_mean(head, field_names(source))
                    self.add(
                        where,
                        f"`{expr}` uses event.{head}, which {source} events do not have{hint}",
                    )
                elif is_mapping_field(source, head) and len(segments) > 1:
                    map_keys.setdefault(head, set()).add(segments[1])
        return map_keys

    def _probe(
        self,
        where: str,
        expr: str,
        program: Any,
        *,
        source: str,
        map_keys: dict[str, set[str]],
        expect: Expect,
    ) -> None:
        context = cel.Context({"event": probe_event(source, map_keys)})
        parts = split_boolean(expr)
        for part in [*parts, expr] if len(parts) > 1 else [expr]:
            try:
                sub = program if part is expr else cel.compile(part)
            except (ValueError, RuntimeError, TypeError):
                continue
            try:
                result = sub.execute(context)
            except TypeError as exc:
                self.add(where, f"type error in `{part.strip()}` on {source} events: {_short(exc)}")
                return
            except KeyError as exc:
                self.add(
                    where, f"`{part.strip()}` names unknown field or key {exc} on {source} events"
                )
                return
            except Exception as exc:  # cel raises assorted errors; all mean "cannot run"
                self.add(where, f"`{part.strip()}` fails on {source} events: {_short(exc)}")
                return
        if not _is_expected(result, expect):
            self.add(where, f"`{expr}` gives {type(result).__name__}, a {expect} is needed")


def _is_expected(value: Any, expect: Expect) -> bool:
    if expect == "bool":
        return isinstance(value, bool)
    if expect == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str | int | float | bool)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return " / ".join(lines[:2]) if lines else type(exc).__name__


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.split(". ")[0]
