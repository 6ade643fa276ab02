"""Scoring stage: one validated record → rule hits, model scores and geo detections.

No Kafka here: it reads and writes the state mappings it is given (Faust tables in a worker,
dicts in tests) and calls the pure engines in rules/, models/ and geo/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from geo.detector import step as geo_step
from geo.vehicle import VehicleState
from schemas.records import Reason, Record, RekeyedEvent, TruckFix
from streams.effects import Message, output
from streams.rekey import split
from streams.state import retrying

if TYPE_CHECKING:
    from collections.abc import Iterable, MutableMapping

    from geo.detection import Detection
    from geo.fence_sets import CompiledFenceSet
    from rules.engine import EventContext
    from schemas.hits import RuleHit
    from schemas.scores import ModelScore
    from streams.runtime import Runtime


@dataclass
class Scored:
    """What scoring one record found: rule hits, model scores and truck detections, handed on
    together to fusion."""

    hits: list[RuleHit] = field(default_factory=list)
    scores: list[ModelScore] = field(default_factory=list)
    detections: list[Detection] = field(default_factory=list)


@dataclass
class Where:
    """The partition an event is handled on, for re-keying (streams/rekey.py): rules whose
    entity lives on another partition are left out here and collected in ``rekeyed``."""

    partition: int
    partitions: int
    origin: str
    rekeyed: list[RekeyedEvent] = field(default_factory=list)

    def split(
        self,
        rt: Runtime,
        source: str,
        event: dict[str, Any],
        based_on: list[Reason] | None = None,
        context: EventContext | None = None,
    ) -> set[str]:
        """The rules to skip here for ``event``; its copies for entities on other partitions are
        kept in ``rekeyed``, numbered so a redone event makes the same ones. ``context``: the
        event's CEL context, shared with the evaluation that follows."""
        skip, out = split(
            rt.engine,
            source,
            event,
            partition=self.partition,
            partitions=self.partitions,
            origin=self.origin,
            based_on=based_on,
            context=context,
        )
        for ev in out:  # numbered in the order they are made: the same again when redone
            self.rekeyed.append(
                ev.model_copy(update={"origin": f"{ev.origin}#{len(self.rekeyed)}"})
            )
        return skip


def score(
    rt: Runtime,
    source: str,
    record: Record,
    rule_state: MutableMapping[str, Any],
    vehicles: MutableMapping[str, Any],
    where: Where | None = None,
) -> Scored:
    """Evaluate every active rule, model and fence set on ``record`` (the rules whose entity
    lives on another partition only there: ``where``)."""
    engine = rt.engine
    event = record.model_dump(mode="json")
    context = engine.context(source, event)  # one per record: re-keying and rules share it
    skip = where.split(rt, source, event, context=context) if where is not None else set()
    out = Scored(hits=engine.evaluate(source, event, rule_state, skip=skip, context=context))
    if isinstance(record, TruckFix):
        found = track(rt, record, vehicles)
        out.detections.extend(det for _, det in found)
        out.hits.extend(detections_hits(rt, found, rule_state, where))
    if rt.models is not None:  # a retried event was learnt by its first attempt
        out.scores = list(rt.models.process(source, record, learn=not retrying()))
    count_rule_errors(rt)
    m = rt.metrics
    for hit in out.hits:
        m.rule_hits.labels(hit.pack, hit.rule_id, hit.mode).inc()
    for s in out.scores:
        m.model_scores.labels(s.model).observe(s.score)
        if s.alert:
            m.model_alerts.labels(s.model, s.mode).inc()
    return out


def count_rule_errors(rt: Runtime) -> None:
    """Rules that could not evaluate an event (swallowed by the engine) → riskloop_rule_errors;
    rules its breaker disabled → riskloop_rule_tripped."""
    for rule, n in rt.engine.pop_errors().items():
        rt.metrics.rule_errors.labels(rule).inc(n)
    for rule in rt.engine.pop_tripped():
        rt.metrics.rule_tripped.labels(rule).inc()


def detection_hits(
    rt: Runtime,
    fences: CompiledFenceSet,
    det: Detection,
    rule_state: MutableMapping[str, Any],
    where: Where | None = None,
) -> list[RuleHit]:
    """The rule hits of one geo detection, each recording the fence set that produced it (so a
    muck-truck warning names its fence set's version and hash, as others name their pack's)."""
    rt.metrics.geo_detections.labels(det.kind).inc()
    event = det.model_dump(mode="json")
    context = rt.engine.context("truck_detections", event)
    if rt.engine.quiet(context):  # most detections (fence enter, exit, dwell): no rule's kind
        return []
    ref = Reason(
        kind="fence", id=fences.name, version=fences.version, content_hash=fences.content_hash
    )
    skip = (
        where.split(rt, "truck_detections", event, [ref], context) if where is not None else set()
    )
    hits = rt.engine.evaluate("truck_detections", event, rule_state, skip=skip, context=context)
    return [h.model_copy(update={"based_on": [*h.based_on, ref]}) for h in hits]


def detections_hits(
    rt: Runtime,
    found: Iterable[tuple[CompiledFenceSet, Detection]],
    rule_state: MutableMapping[str, Any],
    where: Where | None = None,
) -> list[RuleHit]:
    """The rule hits of geo detections, each with the fence set that found it (a fix's, a
    tick's silent trucks, a fence set's replacement: one function for all three)."""
    return [h for fences, det in found for h in detection_hits(rt, fences, det, rule_state, where)]


def rekeyed_outputs(where: Where) -> list[Message]:
    """The re-keyed events ``where`` collected, as messages keyed by their entity."""
    return [output("rekeyed", ev.entity, ev) for ev in where.rekeyed]


def rekeyed_hits(
    rt: Runtime, ev: RekeyedEvent, rule_state: MutableMapping[str, Any]
) -> list[RuleHit]:
    """The hits of the rules an event was re-keyed for, on the entity's partition."""
    hits = rt.engine.evaluate(ev.source, ev.event, rule_state, only=set(ev.rules))
    count_rule_errors(rt)
    for hit in hits:
        rt.metrics.rule_hits.labels(hit.pack, hit.rule_id, hit.mode).inc()
    if not ev.based_on:
        return hits
    return [h.model_copy(update={"based_on": [*h.based_on, *ev.based_on]}) for h in hits]


def track(
    rt: Runtime, fix: TruckFix, vehicles: MutableMapping[str, Any]
) -> list[tuple[CompiledFenceSet, Detection]]:
    """Advance the truck's state in every active fence set; count dropped fixes.

    The state is stored as the :class:`VehicleState` object ``step`` returned (a new one each
    time: ``step`` never changes the one it is given, so an undone event's value is intact),
    and encoded once per checkpoint; a dict and back on every fix cost a third of a fix's
    CPU (bench/RESULTS.md, 2026-12-02). A value restored from the changelog is a dict."""
    detections: list[tuple[CompiledFenceSet, Detection]] = []
    for name, fences in rt.fence_sets.items():
        key = f"{name}|{fix.plate}"
        raw = vehicles.get(key)
        before = VehicleState.from_dict(raw) if raw else None
        after, found = geo_step(before, fix, fences)
        dropped_before = dict(before.dropped) if before else {}
        for reason, n in after.dropped.items():
            if n > dropped_before.get(reason, 0):
                rt.metrics.geo_dropped.labels(reason).inc(n - dropped_before.get(reason, 0))
        vehicles[key] = after
        detections.extend((fences, det) for det in found)
    return detections
