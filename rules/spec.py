"""The rule-pack format: a YAML file validated into these frozen pydantic models.

A pack is what a modeller publishes and versions as one unit (``equipment``, ``trucks``...).
Every rule carries its own examples, so a pack proves itself before it can be activated.
See ``rules/README.md`` for the format with examples.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from rules.durations import BadDuration, is_deadline, parse_duration
from rules.hit import TaskTemplate
from rules.limits import MAX_RULES
from rules.sources import SourceName
from schemas.records import Level

Mode = Literal["active", "shadow", "disabled"]
Department = Literal[
    "market_supervision", "special_equipment", "urban_management", "health", "emergency"
]
CompareOp = Literal[">=", ">", "<=", "<", "=="]

_SEMVER = re.compile(r"(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?", re.ASCII)
_RULE_ID = r"^[a-z0-9][a-z0-9_.-]*$"


def version_key(version: str) -> tuple[int, int, int, int, tuple[Any, ...]]:
    """Sort key of a semantic version; a pre-release sorts before its release.

    >>> version_key("1.2.0") > version_key("1.2.0-rc.1") > version_key("1.1.9")
    True
    """
    m = _SEMVER.fullmatch(version)
    if not m:
        raise ValueError(f"{version!r} is not a semantic version (MAJOR.MINOR.PATCH)")
    pre = m.group(4)
    pre_key = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in (pre or "").split("."))
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)), 0 if pre else 1, pre_key)


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _check_duration(value: str) -> str:
    try:
        parse_duration(value)
    except BadDuration as exc:
        raise ValueError(str(exc)) from exc
    return value


Duration = Annotated[str, AfterValidator(_check_duration)]
"""A pack's duration text (``10m``, ``1h30m``, ``7d``), checked where it is read: one checker
for every window's ``size``, ``for``, ``after`` and ``within``."""


class TaskSpec(_Spec):
    """How a hit becomes a verification task (the department key routes it)."""

    department: Department
    checklist: list[str] = Field(default_factory=list)
    required_evidence: list[str] = Field(default_factory=list)
    sign_deadline: str | None = None
    dispose_deadline: str | None = None

    @field_validator("sign_deadline", "dispose_deadline")
    @classmethod
    def _deadline(cls, value: str | None) -> str | None:
        if value is not None and not is_deadline(value):
            raise ValueError(f"{value!r} is not a deadline; write e.g. '30m', '4h', '3wd'")
        return value

    def template(self) -> TaskTemplate:
        """The task a hit of this rule carries to the warning stage
        (``rules.hit.TaskTemplate``), apart from the pack format's spec.
        """
        return TaskTemplate(**self.model_dump())


class AggregateWindow(_Spec):
    """count/sum/avg/max of matching events per entity over a sliding or tumbling window.

    Sliding windows keep ``buckets`` time buckets per key (bounded memory): the window's edge
    is exact to ``size / buckets``.
    """

    kind: Literal["aggregate"]
    function: Literal["count", "sum", "avg", "max"] = "count"
    value: str | None = None
    size: Duration
    type: Literal["sliding", "tumbling"] = "sliding"
    buckets: int = Field(60, ge=1, le=1000)
    op: CompareOp = ">="
    threshold: float

    @model_validator(mode="after")
    def _value_needed(self) -> AggregateWindow:
        if self.function != "count" and not self.value:
            raise ValueError(f"function {self.function} needs 'value' (a CEL number expression)")
        return self


class DurationWindow(_Spec):
    """The condition holds for ``for`` (Prometheus ``for:``); one hit per episode.

    ``clear`` (CEL) ends an episode; without it the episode ends when the condition is false.
    A clear condition stricter than the negation gives hysteresis.
    """

    kind: Literal["duration"]
    for_: Duration = Field(alias="for")
    clear: str | None = None


class AbsenceWindow(_Spec):
    """No matching event for ``after`` since the last one: found by ``engine.tick``.

    ``clear`` (CEL) disarms the timer: a stopped device (not offline) or a passed
    re-inspection. The next matching event arms it again.
    """

    kind: Literal["absence"]
    after: Duration
    clear: str | None = None


class SequenceStep(_Spec):
    """One step of a sequence: events of ``source`` that meet ``condition`` (any event of
    it, by default).
    """

    source: SourceName
    condition: str = "true"


class SequenceWindow(_Spec):
    """Steps in event-time order on one entity, first to last within ``within``."""

    kind: Literal["sequence"]
    steps: list[SequenceStep] = Field(min_length=2)
    within: Duration


Window = Annotated[
    AggregateWindow | DurationWindow | AbsenceWindow | SequenceWindow, Field(discriminator="kind")
]


class ExampleEvent(_Spec):
    """One event of an example; ``source`` defaults to the rule's first source.

    ``event_time`` may be relative to the example's start: ``"+10m"``.
    """

    source: SourceName | None = None
    event: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _bare(cls, data: Any) -> Any:
        if isinstance(data, dict) and "event" not in data:
            return {"event": data}
        return data


class Example(_Spec):
    """A fire or no-fire case: one event or a short sequence, optionally a timer tick."""

    name: str
    fire: bool
    hits: int | None = Field(None, ge=0)
    event: dict[str, Any] | None = None
    events: list[ExampleEvent] | None = None
    tick: str | None = None

    @model_validator(mode="after")
    def _one_input(self) -> Example:
        if (self.event is None) == (self.events is None):
            raise ValueError("give exactly one of 'event' or 'events'")
        if self.hits is not None and (self.hits > 0) != self.fire:
            raise ValueError(f"hits: {self.hits} contradicts fire: {self.fire}")
        return self

    def items(self) -> list[ExampleEvent]:
        """The example's events, a single ``event`` given as a list of one, so a runner
        handles both shapes alike.
        """
        return (
            list(self.events) if self.events is not None else [ExampleEvent(event=self.event or {})]
        )


class RuleSpec(_Spec):
    """One rule: a CEL condition over one or more sources, optionally a stream window."""

    id: str = Field(pattern=_RULE_ID)
    title: str = Field(min_length=1)
    description: str = ""
    sources: list[SourceName] = Field(min_length=1)
    item_code: str = Field(min_length=1)
    legal_basis: str = ""
    condition: str = "true"
    level: Level
    escalate_to: Level | None = None
    """The highest level repetition may raise this rule's warnings to; unset: never red (a
    yellow "terminal offline" must not reach the level of 电梯困人 just by repeating)."""
    safety: bool = False
    """A safety alarm (困人, 超压, 食物中毒): no silence covers it unless it says so and a second
    person approved it (``loop.silences``)."""
    score: float = Field(ge=0, le=100)
    group_key: str | list[str] | None = None
    entity: str | list[str] | None = None
    task: TaskSpec | None = None
    mode: Mode = "active"
    window: Window | None = None
    examples: list[Example] = Field(min_length=2)

    @model_validator(mode="after")
    def _coherent(self) -> RuleSpec:
        if self.escalate_to is not None and self.escalate_to.rank < self.level.rank:
            raise ValueError(
                f"escalate_to {self.escalate_to.value} is below level {self.level.value}"
            )
        if len(set(self.sources)) != len(self.sources):
            raise ValueError("sources lists a source twice")
        if isinstance(self.window, SequenceWindow):
            missing = {s.source for s in self.window.steps} - set(self.sources)
            if missing:
                raise ValueError(f"window steps use sources {sorted(missing)} not in 'sources'")
        if not any(e.fire for e in self.examples) or all(e.fire for e in self.examples):
            raise ValueError("examples need at least one 'fire: true' and one 'fire: false' case")
        names = [e.name for e in self.examples]
        if len(set(names)) != len(names):
            raise ValueError("example names must be unique within a rule")
        for example in self.examples:
            for item in example.items():
                if item.source is not None and item.source not in self.sources:
                    raise ValueError(
                        f"example {example.name!r} uses source {item.source!r} not in 'sources'"
                    )
        return self

    @property
    def entity_fields(self) -> tuple[str, ...] | None:
        """The fields that name the rule's entity, as a tuple; None: each source's default
        (``rules.sources.DEFAULT_ENTITY``).
        """
        if self.entity is None:
            return None
        return (self.entity,) if isinstance(self.entity, str) else tuple(self.entity)


class PackSpec(_Spec):
    """A versioned, owned set of rules, published and activated as one unit."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    version: str
    owner: str = Field(min_length=1)
    description: str = ""
    rules: list[RuleSpec] = Field(min_length=1, max_length=MAX_RULES)

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        version_key(value)
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> PackSpec:
        ids = [r.id for r in self.rules]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"rule ids must be unique; repeated: {', '.join(dupes)}")
        return self
