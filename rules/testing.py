"""Run every rule's examples: the pack's own proof that each rule fires when, and only when, meant.

Each rule runs alone, as if active (so shadow and disabled rules are proven too), on fresh
state that is round-tripped through JSON after every event, as a Faust changelog would. Example
events name only the fields that matter; the rest are filled with neutral values and the whole
is validated against the source's model, so an example cannot use a field live data lacks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from rules.engine import RuleEngine
from rules.sources import example_event
from schemas.durations import BadDuration, parse_duration, parse_time, to_datetime

if TYPE_CHECKING:
    from rules.compiler import CompiledPack, CompiledRule
    from rules.spec import Example
    from schemas.hits import RuleHit

EXAMPLE_START = "2024-05-06T10:00:00+08:00"
"""Where example time starts: a Monday morning, an ordinary working day."""


@dataclass(frozen=True)
class ExampleResult:
    """One row of ``riskloop rules test``."""

    pack: str
    rule_id: str
    example: str
    expected: str
    got: int
    passed: bool
    detail: str = ""


def run_examples(pack: CompiledPack) -> list[ExampleResult]:
    """Every example of every rule of ``pack``, in pack order."""
    return [_run_example(pack, rule, ex) for rule in pack.rules for ex in rule.spec.examples]


def failures(results: list[ExampleResult]) -> list[ExampleResult]:
    """The results that did not pass: what refuses a publication and what
    ``rules test`` lists.
    """
    return [r for r in results if not r.passed]


def _run_example(pack: CompiledPack, rule: CompiledRule, example: Example) -> ExampleResult:
    expected = (
        f"{example.hits} hit(s)"
        if example.hits is not None
        else ("fire" if example.fire else "no fire")
    )
    try:
        hits = _play(pack, rule, example)
    except (ValidationError, BadDuration, ExampleError) as exc:
        return ExampleResult(pack.name, rule.id, example.name, expected, 0, False, _explain(exc))
    got = len(hits)
    passed = (got > 0) == example.fire and (example.hits is None or got == example.hits)
    detail = "; ".join(f"{h.event_id}: {_brief(h.values)}" for h in hits[:3])
    return ExampleResult(pack.name, rule.id, example.name, expected, got, passed, detail)


class ExampleError(ValueError):
    """An example that cannot be played (bad time, bad event)."""


def _play(pack: CompiledPack, rule: CompiledRule, example: Example) -> list[RuleHit]:
    active = replace(rule, spec=rule.spec.model_copy(update={"mode": "active"}))
    engine = RuleEngine([replace(pack, rules=(active,))])
    start = parse_time(EXAMPLE_START)
    state: dict[str, Any] = {}
    hits: list[RuleHit] = []
    for i, item in enumerate(example.items()):
        source = item.source or rule.spec.sources[0]
        partial = dict(item.event)
        at = _when(partial.pop("event_time", None), start, default=start + 60 * i)
        event_id = str(partial.pop("event_id", f"{example.name}-{i + 1}"))
        try:
            event = example_event(source, partial, event_id, to_datetime(at).isoformat())
        except ValidationError as exc:
            raise ExampleError(f"event {i + 1}: {_explain(exc)}") from exc
        hits.extend(engine.evaluate(source, event, state))
        state = json.loads(json.dumps(state))
    if example.tick is not None:
        hits.extend(engine.tick(_when(example.tick, start, default=start), state))
    return [h for h in hits if h.rule_id == rule.id]


def _when(value: Any, start: float, default: float) -> float:
    """An example time: absent → default, ``"+10m"`` → relative to start, else ISO-8601."""
    if value is None:
        return default
    if isinstance(value, str) and value.startswith("+"):
        return start + parse_duration(value[1:])
    return parse_time(value)


def _explain(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return str(exc)


def _brief(values: dict[str, Any]) -> str:
    text = ", ".join(f"{k}={v}" for k, v in values.items() if k != "sequence")
    return text[:120]
