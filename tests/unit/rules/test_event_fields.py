"""The engine converts only the event fields its rules read into CEL values (issue #16): every
rule must decide exactly as it did on the whole event."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from config.settings import PROJECT_ROOT, Settings
from rules.compiler import expand_paths, load_pack_text, load_packs
from rules.engine import RuleEngine
from rules.expressions import event_fields
from rules.sources import example_event
from schemas.ingest import IngestLimits, decode_source
from schemas.sample_stream import generate
from tests.unit.rules.conftest import pack_yaml, rule


def _whole(engine: RuleEngine) -> RuleEngine:
    """The same engine converting every event whole, as before the pruning."""
    engine._fields = dict.fromkeys(engine._fields)
    return engine


def _stream(tmp_path: Any) -> list[tuple[str, dict[str, Any]]]:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    limits = IngestLimits.from_settings(settings)
    now = datetime.now(UTC)
    out = []
    for e in generate(1500, seed=7):
        record = decode_source(e.source, json.dumps(e.event).encode(), limits=limits, now=now)
        out.append((e.source, record.model_dump(mode="json")))
    packs = load_packs(expand_paths([PROJECT_ROOT / "rules" / "packs"]))
    for pack in packs:  # every rule's examples too: truck detections, sequences, durations
        for r in pack.rules:
            for ex in r.spec.examples:
                for i, item in enumerate(ex.items()):
                    partial = {k: v for k, v in item.event.items() if k != "event_time"}
                    source = item.source or r.spec.sources[0]
                    event_id = str(partial.pop("event_id", f"{ex.name}-{i}"))
                    at = "2026-12-03T10:00:00+00:00"
                    out.append((source, example_event(source, partial, event_id, at)))
    return out


def test_shipped_packs_decide_on_the_fields_they_read_as_on_the_whole_event(
    tmp_path: Any,
) -> None:
    packs = load_packs(expand_paths([PROJECT_ROOT / "rules" / "packs"]))
    pruned, whole = RuleEngine(packs), _whole(RuleEngine(packs))
    assert any(f is not None for f in pruned._fields.values()), "nothing is pruned"
    fast_state: dict[str, Any] = {}
    slow_state: dict[str, Any] = {}
    hits = 0
    for source, event in _stream(tmp_path):
        fast = pruned.evaluate(source, event, fast_state)
        slow = whole.evaluate(source, event, slow_state)
        assert [h.model_dump() for h in fast] == [h.model_dump() for h in slow], event
        assert pruned.concerned(source, event, pruned.rule_ids) == whole.concerned(
            source, event, whole.rule_ids
        )
        hits += len(fast)
    assert fast_state == slow_state
    assert pruned.pop_errors() == whole.pop_errors()
    assert hits > 100, "the stream fired too few rules to say anything"


@pytest.mark.parametrize(
    "condition",
    ['size(event) > 3 && event.outcome == "fail"', 'event["outcome"] == "fail"'],
)
def test_a_rule_reading_the_whole_event_gets_the_whole_event(condition: str) -> None:
    examples = [
        {"name": "fires", "fire": True, "event": {"outcome": "fail"}},
        {"name": "quiet", "fire": False, "event": {"outcome": "pass"}},
    ]
    pack = load_pack_text(pack_yaml([rule(condition=condition, examples=examples)]))
    engine = RuleEngine([pack])
    assert engine._fields["inspections"] is None
    event = example_event("inspections", {"outcome": "fail"}, "e1", "2026-12-03T10:00:00Z")
    assert [h.rule_id for h in engine.evaluate("inspections", event, {})] == ["t.rule"]


def test_event_fields_reads_field_accesses_only() -> None:
    assert event_fields('event.a == "event.b" && event.c.d > 1') == frozenset({"a", "c"})
    assert event_fields("event.text.contains('x')") == frozenset({"text"})
    assert event_fields("[1].exists(event, event > 0)") is None
    assert event_fields("x.event.a") is None
    assert event_fields("event.all(k, k != '')") is None
    assert event_fields("true") == frozenset()
