"""The rule engine: events (plain dicts) and state in, :class:`~schemas.hits.RuleHit` list out.

Pure apart from the caller's state mapping, which it only reads and assigns whole values in
(``state[key] = new``) so that a Faust table records each change. State keys are
``"<rule id>|<entity>"``; values are JSON-serialisable.

Evaluating builds one ``cel.Context`` per event and shares it across rules: converting the
event dict into CEL values costs ~30 µs, running a compiled condition on a ready context ~2 µs
(measured with 20 rules on an inspection event), so per-rule conversion would dominate. A
caller that asks :meth:`RuleEngine.concerned` and then :meth:`RuleEngine.evaluate` about the
same record builds it once with :meth:`RuleEngine.context` and hands it to both.

>>> from rules.compiler import load_pack
>>> from config.settings import PROJECT_ROOT
>>> engine = RuleEngine([load_pack(PROJECT_ROOT / "rules/packs/equipment.yaml")])
>>> event = {"event_id": "r1", "event_time": "2024-05-06T02:00:00Z", "equipment_code": "E1",
...          "equipment_type": "elevator", "uscc": "91110108MA01ABCD2X", "trapped": True}
>>> [(h.rule_id, h.level.value) for h in engine.evaluate("equipment", event, {})]
[('equipment.elevator_trapped', 'red')]
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import cel

from rules.expressions import event_keys
from rules.gates import Gate, rule_gate
from rules.sources import USCC_FIELD
from rules.spec import AggregateWindow
from rules.windows import (
    absence_clear,
    absence_due,
    absence_seen,
    aggregate_add,
    compare,
    duration_step,
    sequence_add,
)
from schemas.durations import parse_time, to_datetime
from schemas.errors import ConfigError
from schemas.hits import RuleHit
from schemas.validation.pii import ADDRESS_FIELDS, address_key

if TYPE_CHECKING:
    from datetime import datetime

    from rules.compiler import CompiledPack, CompiledRule

KEY_SEP = "|"

Fields: TypeAlias = Mapping[str, frozenset[str] | None]
"""Event field → the keys of it an expression reads (None: its whole value)."""

RuleState: TypeAlias = MutableMapping[str, Any]
"""The rules' window state, one value per :func:`state_key` (a partition's table, or a dict)."""


@dataclass(frozen=True)
class RuleBudget:
    """A production circuit breaker: how long one rule may take on one event.

    Validation bounds what it can count; a slow branch no probe or example takes (behind a
    ternary) shows only at run time. Each overrun is a strike, each run within budget forgives
    ``forgive`` of one, and at ``strikes`` the rule is disabled in this engine (the rest of the
    pack runs on). A new engine, built when a pack version is activated, starts clean.
    """

    seconds: float = 0.05
    strikes: float = 3
    forgive: float = 0.01


_MATCH_ONLY = frozenset({"plain", "aggregate", "sequence"})
"""Window kinds for which an event that does not match its rule's condition changes nothing
(a duration or absence window also learns from the events that do not match)."""


def state_key(rule_id: str, entity: str) -> str:
    """Where a rule's window state for one entity lives in the state mapping."""
    return f"{rule_id}{KEY_SEP}{entity}"


class RuleEngine:
    """Runs the active and shadow rules of some compiled packs; immutable once built.

    ``errors`` counts, per rule id, events on which a condition could not run (a missing map
    key, a null compared with a number): such an event does not fire. The caller takes the
    counts with :meth:`pop_errors` after evaluating and turns them into its metric, so this
    module stays free of I/O and a broken rule is still seen (``RiskLoopRuleErrors``).
    """

    def __init__(
        self,
        packs: Iterable[CompiledPack],
        *,
        budget: RuleBudget | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.packs: tuple[CompiledPack, ...] = tuple(packs)
        self.errors: Counter[str] = Counter()
        self.budget = budget or RuleBudget()
        self._clock = clock
        self._strikes: dict[str, float] = {}
        self.tripped: dict[str, str] = {}
        """Rule id → why the breaker disabled it; the status a health view shows."""
        self._new_trips: list[str] = []
        owners: dict[str, str] = {}
        by_source: dict[str, list[CompiledRule]] = {}
        for pack in self.packs:
            for rule in pack.rules:
                if rule.id in owners:
                    raise ConfigError(
                        f"rule id {rule.id!r} is in packs {owners[rule.id]!r} and {pack.name!r}; "
                        "rule ids key window state and must be unique across packs"
                    )
                owners[rule.id] = pack.name
                if rule.mode == "disabled":
                    continue
                for source in rule.spec.sources:
                    by_source.setdefault(source, []).append(rule)
        self._by_source = {s: tuple(r) for s, r in by_source.items()}
        self._absence = {
            r.id: r for rules in self._by_source.values() for r in rules if r.kind == "absence"
        }
        self._rule_fields = {
            (s, r.id): _fields_read(r, s) for s, rules in self._by_source.items() for r in rules
        }
        """(source, rule id) → the event fields (and keys of them) the rule's expressions can
        read on events of the source (None: the whole event)."""
        self._fields: dict[str, frozenset[str] | None] = {
            s: _names(_union(self._rule_fields[s, r.id] for r in rules))
            for s, rules in self._by_source.items()
        }
        """Source → the event fields its rules' expressions can read (None: all of them)."""
        self._gates: dict[str, Gate] = {}
        """Rule id → the field value its condition needs (``rules/gates.py``), where it has one."""
        for rules in self._by_source.values():
            for r in rules:
                window = r.spec.window
                gate = rule_gate(r.kind, r.spec.condition, getattr(window, "clear", None))
                if gate is not None:
                    self._gates[r.id] = gate
        self._contexts: dict[tuple[Any, ...], Any] = {}
        """CEL values already made, by what they hold (``EventContext.cel``)."""
        self._match_only = {
            s: all(r.kind in _MATCH_ONLY for r in rules) for s, rules in self._by_source.items()
        }
        self._open: dict[tuple[str, tuple[bool, ...]], tuple[CompiledRule, ...]] = {}
        self._fields_of: dict[tuple[str, tuple[str, ...]], Fields | None] = {}

    @property
    def rule_ids(self) -> frozenset[str]:
        """Every rule id of the engine's packs, disabled rules included (they are still
        loaded, and still own their ids).
        """
        return frozenset(r.id for p in self.packs for r in p.rules)

    def pop_errors(self) -> dict[str, int]:
        """Rule id → evaluation errors since the last call (and forget them).

        >>> from rules.compiler import load_pack
        >>> from config.settings import PROJECT_ROOT
        >>> engine = RuleEngine([load_pack(PROJECT_ROOT / "rules/packs/equipment.yaml")])
        >>> engine.errors["r"] += 2
        >>> engine.pop_errors(), engine.pop_errors()
        ({'r': 2}, {})
        """
        if not self.errors:  # the usual answer: asked after every event
            return {}
        errors, self.errors = dict(self.errors), Counter()
        return errors

    def pop_tripped(self) -> list[str]:
        """Rules the breaker disabled since the last call, for ``riskloop_rule_tripped``."""
        if not self._new_trips:
            return []
        tripped, self._new_trips = self._new_trips, []
        return tripped

    # -------------------------------------------------------------- evaluate

    def entities(self, source: str, event: dict[str, Any]) -> dict[str, str]:
        """Rule id → the entity whose state and warnings the rule keeps for this event, for
        every rule of ``source`` that names one (from its entity fields; a rule without one
        keeps nothing per entity). The worker re-keys an event to the partition of each
        entity that is not its own (streams/rekey.py)."""
        out: dict[str, str] = {}
        for rule in self._by_source.get(source, ()):
            entity = self._entity(rule, source, event)
            if entity is not None and rule.id not in self.tripped:
                out[rule.id] = entity
        return out

    def concerned(
        self,
        source: str,
        event: dict[str, Any],
        rule_ids: Collection[str],
        *,
        context: EventContext | None = None,
    ) -> list[str]:
        """Of ``rule_ids``, the rules this event can change anything for: a plain, aggregate
        or sequence rule only when its condition holds (a duration or absence window also
        learns from events that do not match). An event is re-keyed only for those. A
        condition that cannot be evaluated counts as concerned: the error is counted once,
        where the rule is evaluated.

        In the packs' order, not a set's: the list rides in a re-keyed event, and a set's
        order follows the process's hash seed, so a replay's bytes would differ per process.
        ``context``: the record's, if the caller has it (:meth:`context`)."""
        out: list[str] = []
        for rule in self._by_source.get(source, ()):
            if rule.id not in rule_ids:
                continue
            if rule.kind in _MATCH_ONLY:
                gate = self._gates.get(rule.id)
                if gate is not None and gate.closed(event):
                    continue  # its condition is false: nothing to count either
                context = self._own(context, source, event)
                try:
                    if rule.condition.execute(context.cel) is not True:
                        continue
                except Exception:
                    pass
            out.append(rule.id)
        return out

    def evaluate(
        self,
        source: str,
        event: dict[str, Any],
        state: RuleState,
        *,
        only: Collection[str] | None = None,
        skip: Collection[str] = (),
        context: EventContext | None = None,
    ) -> list[RuleHit]:
        """Every hit of one event: active and shadow rules (``RuleHit.mode`` tells which);
        ``only`` / ``skip`` restrict it to some rules (the re-keyed ones, or all but them).
        ``context``: the record's, if the caller has it (:meth:`context`); an event none of
        whose rules runs here (all re-keyed elsewhere) needs none."""
        own = context is not None and context.source == source
        opened = context.rules if own else self.open_rules(source, event)  # type: ignore[union-attr]
        if self._strikes:
            self._forgive_closed(source, opened, only, skip)
        rules = [
            rule
            for rule in opened
            if not (
                rule.id in self.tripped
                or rule.id in skip
                or (only is not None and rule.id not in only)
            )
        ]
        if not rules:
            return []
        if not own:
            context = self._context_of(source, event, rules)
        assert context is not None
        seen = _Seen(source, event, context.cel, parse_time(event["event_time"]))
        hits: list[RuleHit] = []
        for rule in rules:
            started = self._clock()
            hits.extend(self._evaluate(rule, seen, state))
            self._charge(rule.id, self._clock() - started)
        return hits

    def context(self, source: str, event: dict[str, Any]) -> EventContext:
        """The event as the rules of ``source`` see it: only the fields their expressions
        read are converted into CEL values (``event_fields``), which was most of a rule
        evaluation's cost (~3 µs a field, a whole complaint ~80 µs, a condition ~1 µs). A
        field left out is one no expression names, so every rule decides as on the whole
        event (tests/unit/rules/test_event_fields.py).

        Built once per record, when a rule first reads it: the worker asks :meth:`concerned`
        (which rules re-key it) and :meth:`evaluate` about the same record, and building it for
        each was ~1,500 of the ~7,500 contexts of 6,000 bench events (issue #16)."""
        rules = self.open_rules(source, event)
        return EventContext(source, event, rules, self._read_by(source, rules), self._contexts)

    def open_rules(self, source: str, event: dict[str, Any]) -> tuple[CompiledRule, ...]:
        """The rules of ``source`` that ``event`` may concern, in the packs' order: those its
        gate leaves open (``rules/gates.py``). Kept per combination of the gated fields' values
        as the gates see them (one of their literals, another string, unknown), so a few
        entries per source whatever the events hold."""
        rules = self._by_source.get(source, ())
        gates = self._gates
        closed = tuple(r.id in gates and gates[r.id].closed(event) for r in rules)
        key = (source, closed)
        opened = self._open.get(key)
        if opened is None:
            opened = tuple(r for r, shut in zip(rules, closed, strict=True) if not shut)
            self._open[key] = opened
        return opened

    def quiet(self, context: EventContext) -> bool:
        """Whether no rule can change anything for ``context``'s record, on any partition: every
        rule of its source is left out by its gate and changes nothing on an event it refuses
        (so :meth:`concerned` names none of them and no re-keyed copy would be sent). False
        while a rule has strikes: :meth:`evaluate` forgives the rules it leaves out."""
        if context.rules or self._strikes:
            return False
        return self._match_only.get(context.source, True)

    def _forgive_closed(
        self,
        source: str,
        opened: tuple[CompiledRule, ...],
        only: Collection[str] | None,
        skip: Collection[str],
    ) -> None:
        """A rule left out by its gate ran within budget, as it did when it was run."""
        left_out = {r.id for r in self._by_source.get(source, ())} - {r.id for r in opened}
        for rule_id in sorted(left_out & self._strikes.keys()):
            if rule_id in self.tripped or rule_id in skip:
                continue
            if only is None or rule_id in only:
                self._charge(rule_id, 0.0)

    def _context_of(
        self, source: str, event: dict[str, Any], rules: Iterable[CompiledRule]
    ) -> EventContext:
        rules = tuple(rules)
        return EventContext(source, event, rules, self._read_by(source, rules), self._contexts)

    def _read_by(self, source: str, rules: tuple[CompiledRule, ...]) -> Fields | None:
        """The event fields ``rules`` read on events of ``source`` (None: the whole event)."""
        if self._fields.get(source) is None:
            return None
        key = (source, tuple(r.id for r in rules))
        if key not in self._fields_of:
            self._fields_of[key] = _union(self._rule_fields[source, r.id] for r in rules)
        return self._fields_of[key]

    def _own(
        self, context: EventContext | None, source: str, event: dict[str, Any]
    ) -> EventContext:
        """``context`` when the caller built it for ``source``, else the event's own."""
        if context is not None and context.source == source:
            return context
        return self.context(source, event)

    def _charge(self, rule_id: str, spent: float) -> None:
        """Count an overrun as a strike, forgive a little on a run within budget; trip at limit."""
        budget = self.budget
        strikes = self._strikes.get(rule_id, 0.0)
        if spent <= budget.seconds:
            if strikes:
                self._strikes[rule_id] = max(0.0, strikes - budget.forgive)
            return
        self._strikes[rule_id] = strikes + 1
        if strikes + 1 >= budget.strikes:
            self.tripped[rule_id] = (
                f"disabled after {budget.strikes:g} runs over {budget.seconds:g}s "
                f"(last {spent:.3f}s)"
            )
            self._new_trips.append(rule_id)

    def _evaluate(self, rule: CompiledRule, seen: _Seen, state: RuleState) -> list[RuleHit]:
        kind = rule.kind
        matched = self._true(rule, rule.condition, seen.context)
        if kind == "plain":
            return (
                [self._hit(rule, seen, seen.at, self._values(rule, seen.event))] if matched else []
            )
        entity = self._entity(rule, seen.source, seen.event)
        if entity is None:
            return []
        key = state_key(rule.id, entity)
        if kind == "aggregate":
            return self._aggregate(rule, seen, state, key) if matched else []
        if kind == "duration":
            return self._duration(rule, seen, state, key, matched)
        if kind == "absence":
            return self._absence_event(rule, seen, state, key, matched)
        return self._sequence(rule, seen, state, key) if matched else []

    def _aggregate(
        self, rule: CompiledRule, seen: _Seen, state: RuleState, key: str
    ) -> list[RuleHit]:
        window = rule.spec.window
        assert isinstance(window, AggregateWindow)
        value = 1.0
        if rule.value is not None:
            raw = self._run(rule, rule.value, seen.context)
            if not isinstance(raw, int | float) or isinstance(raw, bool):
                return []
            value = float(raw)
        width = (
            rule.seconds
            if window.type == "tumbling"
            else max(1, math.ceil(rule.seconds / window.buckets))
        )
        new, agg = aggregate_add(state.get(key), seen.at, value, rule.seconds, width)
        state[key] = new
        if agg is None or not compare(agg[window.function], window.op, window.threshold):
            return []
        values = {
            **self._values(rule, seen.event),
            f"window.{window.function}": agg[window.function],
            "window.count": agg["count"],
            "window.size": window.size,
        }
        return [self._hit(rule, seen, seen.at, values)]

    def _duration(
        self, rule: CompiledRule, seen: _Seen, state: RuleState, key: str, matched: bool
    ) -> list[RuleHit]:
        if rule.clear is not None:
            cleared = self._true(rule, rule.clear, seen.context)
        else:
            cleared = not matched
        new, fired = duration_step(state.get(key), seen.at, matched, cleared, rule.seconds)
        if new != state.get(key):
            state[key] = new
        if not fired:
            return []
        values = {**self._values(rule, seen.event), "window.since": _iso(new["since"])}
        return [self._hit(rule, seen, seen.at, values)]

    def _absence_event(
        self, rule: CompiledRule, seen: _Seen, state: RuleState, key: str, matched: bool
    ) -> list[RuleHit]:
        """Arm, re-arm or clear the timer; first fire a silence this very event ends.

        A silence that ran out before this event fires here, whether or not a tick came in
        between: the hit depends only on the events, never on when a timer happened to run,
        so a replay (after a crash, or of a backlog at full speed) raises exactly what the
        original run raised. The tick fires silences that are still going on; each silence
        fires once either way (``fired``) and with the same content.
        """
        old = state.get(key)
        if rule.clear is not None and self._true(rule, rule.clear, seen.context):
            new = absence_clear(old, seen.at)
        elif matched:
            new = absence_seen(old, seen.at, self._context(rule, seen))
        else:
            return []
        hits = []
        if old is not None and absence_due(old, seen.at, rule.seconds):
            hits.append(self._absence_hit(rule, old))
        if new is not None and new != old:
            state[key] = new
        return hits

    def _sequence(
        self, rule: CompiledRule, seen: _Seen, state: RuleState, key: str
    ) -> list[RuleHit]:
        matched = [
            i
            for i, step in enumerate(rule.steps)
            if step.source == seen.source and self._true(rule, step.condition, seen.context)
        ]
        if not matched:
            return []
        step_paths = {p for i in matched for p in rule.steps[i].paths}
        occurrence: dict[str, Any] = {
            "id": str(seen.event.get("event_id", "")),
            "source": seen.source,
            "values": {p: _resolve(seen.event, p) for p in sorted(step_paths)},
        }
        if len(rule.steps) - 1 in matched:  # a hit's own region and values are its last event's
            occurrence["region"] = seen.event.get("region_code")
            if rule.paths:
                occurrence["hit"] = self._values(rule, seen.event)
        new, chains = sequence_add(
            state.get(key),
            matched,
            seen.at,
            occurrence,
            n_steps=len(rule.steps),
            within=rule.seconds,
        )
        state[key] = new
        return [self._chain_hit(rule, seen, chain) for chain in chains]

    def _chain_hit(self, rule: CompiledRule, seen: _Seen, chain: list[dict[str, Any]]) -> RuleHit:
        """The hit of one completed chain. It is the chain's, whichever of its events happened
        to complete it here: a complaint and an inspection come from two topics in no fixed
        order, and a hit named after the arriving event (its source is part of the warning's
        fingerprint, its region routes the task) made the same chain a different warning, and
        task, depending on that order. Its values are the last event's too: the rule's own
        paths, kept with a waiting last step (none for a rule whose condition reads none)."""
        values = {
            **chain[-1].get("hit", {}),
            "sequence": [
                {
                    "step": i,
                    "source": c["source"],
                    "event_id": c["id"],
                    "event_time": _iso(c["t"]),
                    **c["values"],
                }
                for i, c in enumerate(chain)
            ],
        }
        last = chain[-1]
        hit = self._hit(rule, seen, last["t"], values)
        named = {
            "source": last["source"],
            "event_id": last["id"],
            "region_code": last.get("region", hit.region_code),  # kept since 2026-12-06
            "chained": True,
        }
        return hit.model_copy(update=named)

    # -------------------------------------------------------------- timers

    def tick(
        self,
        now: datetime | float | str | Mapping[str, datetime | float | str],
        state: RuleState,
        keys: Iterable[str] | None = None,
    ) -> list[RuleHit]:
        """Fire absence rules whose silence has run out by ``now`` (an event-time clock).

        ``keys``: only these keys of ``state`` (those whose :meth:`absence_due` has come: a
        timer over 100,000 entities need not read each window); None: every key.

        ``now`` is one time for every rule, or a clock per source (``{"equipment": t}``): a
        rule then runs on the newest clock among its sources and waits if none of them has
        one. Each silence fires once; the next matching event re-arms it.
        """
        if not self._absence:
            return []
        clocks = {s: parse_time(t) for s, t in now.items()} if isinstance(now, Mapping) else None
        at = None if clocks is not None else parse_time(now)  # type: ignore[arg-type]
        hits = []
        for key in list(state.keys()) if keys is None else keys:
            rule = self._absence.get(str(key).split(KEY_SEP, 1)[0])
            if rule is None:
                continue  # not read: a cold value would be decoded for nothing
            value = state.get(key)
            if not isinstance(value, dict):
                continue
            when = at if clocks is None else _newest(clocks, rule.spec.sources)
            if when is not None and absence_due(value, when, rule.seconds):
                state[key] = {**value, "fired": True}
                hits.append(self._absence_hit(rule, value))
        return hits

    def times_silence(self, key: str) -> bool:
        """Whether ``key`` is the window of an absence rule (the only ones :meth:`tick` fires),
        told by the key alone."""
        return str(key).split(KEY_SEP, 1)[0] in self._absence

    def absence_due(self, key: str, value: Any) -> float | None:
        """When the silence kept under ``key`` runs out, in event-time POSIX seconds, as
        :meth:`tick` judges it (``rules.windows.absence_due``); None when ``key`` is not an
        absence rule's, or its timer is not armed or has fired (the next event re-arms it)."""
        rule = self._absence.get(str(key).split(KEY_SEP, 1)[0])
        if rule is None or not isinstance(value, dict):
            return None
        if not value.get("armed") or value.get("fired"):
            return None
        return float(value["last"]) + rule.seconds

    def _absence_hit(self, rule: CompiledRule, value: dict[str, Any]) -> RuleHit:
        """The hit of one silence: the same whoever fires it (a tick or the next event)."""
        ctx = value["ctx"]
        last = float(value["last"])
        values = {
            **ctx.get("values", {}),
            "window.status": "offline",
            "window.last_seen": _iso(last),
            "window.after": rule.spec.window.after if rule.spec.window else "",  # type: ignore[union-attr]
        }
        return self._make(
            rule,
            source=ctx["source"],
            entity=ctx["entity"],
            uscc=ctx.get("uscc"),
            region=ctx.get("region"),
            group=ctx["group"],
            event_id=f"{rule.id}:{ctx['entity']}:absent:{int(last)}",
            at=last + rule.seconds,
            values=values,
        )

    def cleanup(self, state: RuleState, removed_rule_ids: Iterable[str]) -> int:
        """Drop the window state of rules that no longer exist; how many keys went."""
        prefixes = tuple(state_key(r, "") for r in removed_rule_ids)
        if not prefixes:
            return 0
        doomed = [k for k in list(state.keys()) if str(k).startswith(prefixes)]
        for key in doomed:
            del state[key]
        return len(doomed)

    # -------------------------------------------------------------- helpers

    def _run(self, rule: CompiledRule, program: Any, context: Any) -> Any:
        try:
            return program.execute(context)
        except Exception:  # a null or missing key on this event: no fire, counted
            self.errors[rule.id] += 1
            return None

    def _true(self, rule: CompiledRule, program: Any, context: Any) -> bool:
        return self._run(rule, program, context) is True

    def _entity(self, rule: CompiledRule, source: str, event: dict[str, Any]) -> str | None:
        """The first non-empty entity field; an address goes by its pseudonym (``address_key``),
        since an entity id is never masked wherever it travels."""
        for name in rule.entity_fields[source]:
            value = event.get(name)
            if value not in (None, ""):
                return address_key(str(value)) if name in ADDRESS_FIELDS else str(value)
        return None

    def _group(self, rule: CompiledRule, seen: _Seen, entity: str) -> str:
        if rule.group_fields is not None:
            return KEY_SEP.join(
                "" if seen.event.get(f) is None else str(seen.event.get(f))
                for f in rule.group_fields
            )
        if rule.group_expr is not None:
            value = self._run(rule, rule.group_expr, seen.context)
            return entity if value is None else str(value)
        return entity

    def _values(self, rule: CompiledRule, event: dict[str, Any]) -> dict[str, Any]:
        return {p: _resolve(event, p) for p in rule.paths}

    def _context(self, rule: CompiledRule, seen: _Seen) -> dict[str, Any]:
        """Who and what a hit is about; also kept in absence state for the later hit."""
        event = seen.event
        entity = self._entity(rule, seen.source, event) or str(event.get("event_id", ""))
        return {
            "source": seen.source,
            "entity": entity,
            "uscc": event.get(field) if (field := USCC_FIELD[seen.source]) else None,
            "region": event.get("region_code"),
            "group": self._group(rule, seen, entity),
            "event_id": event.get("event_id"),
            "values": self._values(rule, event),
        }

    def _hit(self, rule: CompiledRule, seen: _Seen, at: float, values: dict[str, Any]) -> RuleHit:
        ctx = self._context(rule, seen)
        return self._make(
            rule,
            source=seen.source,
            entity=ctx["entity"],
            uscc=ctx["uscc"],
            region=ctx["region"],
            group=ctx["group"],
            event_id=str(seen.event.get("event_id", "")),
            at=at,
            values=values,
        )

    def _make(
        self,
        rule: CompiledRule,
        *,
        source: str,
        entity: str,
        uscc: str | None,
        region: str | None,
        group: str,
        event_id: str,
        at: float,
        values: dict[str, Any],
    ) -> RuleHit:
        spec = rule.spec
        return RuleHit(
            pack=rule.pack,
            pack_version=rule.pack_version,
            pack_hash=rule.pack_hash,
            rule_id=rule.id,
            title=spec.title,
            item_code=spec.item_code,
            legal_basis=spec.legal_basis,
            level=spec.level,
            escalate_to=spec.escalate_to,
            safety=spec.safety,
            score=spec.score,
            mode=spec.mode,
            source=source,
            entity=entity,
            uscc=uscc,
            region_code=region,
            group_key=group,
            event_id=event_id,
            event_time=to_datetime(at),
            values=values,
            task=rule.template,
        )


class EventContext:
    """One record as the rules of ``source`` read it (:meth:`RuleEngine.context`): the rules it
    may concern, and its CEL values (only the ``fields`` those rules read; None: all), made on
    first use and then shared."""

    __slots__ = ("_cel", "_made", "event", "fields", "rules", "source")

    def __init__(
        self,
        source: str,
        event: dict[str, Any],
        rules: tuple[CompiledRule, ...],
        fields: Fields | None,
        made: dict[tuple[Any, ...], Any] | None = None,
    ) -> None:
        self.source = source
        self.event = event
        self.rules = rules
        self.fields = fields
        self._made = made
        self._cel: Any = None

    @property
    def cel(self) -> Any:
        """The ``cel.Context`` every rule's program runs on.

        Records that hold the same values where the rules read them share one (``made``, the
        engine's): a program's result depends on its activation's values only, and a context
        is not changed by running programs on it. An elevator reading, once its unread metrics
        are left out, is one of a few dozen (type, door faults, trapped), and making a context
        (~15 µs) is twenty programs' worth of running one (~0.7 µs). Only values of a few
        scalar types (with their type: CEL tells ``1`` from ``1.0`` and ``true``) are keys; a
        float by its exact bits (``-0.0`` is not ``0.0`` to a division)."""
        if self._cel is None:
            event, fields = self.event, self.fields
            if fields is not None:
                event = {k: _keep(event[k], keys) for k, keys in fields.items() if k in event}
            made = self._made
            key = None if made is None or fields is None else _key(event)
            if made is None or key is None:
                self._cel = cel.Context({"event": event})
            elif (found := made.get(key)) is not None:
                self._cel = found
            else:
                if len(made) >= _MADE:  # the few that recur come back at once
                    made.clear()
                self._cel = made[key] = cel.Context({"event": event})
        return self._cel


_MADE = 1024
"""At most this many contexts are kept for reuse."""

_SCALARS = (str, int, bool, type(None))


def _key(values: dict[str, Any]) -> tuple[Any, ...] | None:
    """``values`` as a hashable key that tells apart what CEL tells apart; None when one of
    them is not a short string, an int, a bool, null, a float or a map of those."""
    out: list[Any] = []
    for name, value in values.items():
        kind = type(value)
        if kind is dict:
            inner = _key(value)
            if inner is None:
                return None
            out.append((name, kind, inner))
        elif kind is float:
            out.append((name, kind, value.hex()))
        elif kind in _SCALARS and (kind is not str or len(value) <= _SHORT):
            out.append((name, kind, value))
        else:
            return None
    return tuple(out)


_SHORT = 64
"""Longer strings (a complaint's text) are rarely seen twice: not worth keeping."""


@dataclass(frozen=True, slots=True)
class _Seen:
    """One event as every rule sees it: its CEL context is built once and shared."""

    source: str
    event: dict[str, Any]
    context: Any  # cel.Context
    at: float


def _fields_read(rule: CompiledRule, source: str) -> Fields | None:
    """Every event field the rule's CEL expressions (condition, group key, window value and
    clear, the steps of ``source``) can read on an event of ``source``; None when one of them
    may read the whole event."""
    spec, window = rule.spec, rule.spec.window
    steps = getattr(window, "steps", ()) or ()
    texts = [spec.condition, *(s.condition for s in steps if s.source == source)]
    texts += [t for t in (getattr(window, "value", None), getattr(window, "clear", None)) if t]
    if isinstance(spec.group_key, str):
        texts.append(spec.group_key)
    return _union(event_keys(text) for text in texts)


def _union(reads: Iterable[Fields | None]) -> Fields | None:
    """Everything ``reads`` read; None (the whole event) if one of them is None."""
    out: dict[str, frozenset[str] | None] = {}
    for one in reads:
        if one is None:
            return None
        for field, keys in one.items():
            known = out.get(field, frozenset())
            out[field] = None if keys is None or known is None else known | keys
    return out


def _names(fields: Fields | None) -> frozenset[str] | None:
    return None if fields is None else frozenset(fields)


def _keep(value: Any, keys: frozenset[str] | None) -> Any:
    """``value``, or only ``keys`` of it when it is a map of which only those are read."""
    if keys is None or type(value) is not dict:
        return value
    return {k: v for k, v in value.items() if k in keys}


def _resolve(event: dict[str, Any], path: str) -> Any:
    value: Any = event
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _newest(clocks: Mapping[str, float], sources: Iterable[str]) -> float | None:
    times = [clocks[s] for s in sources if s in clocks]
    return max(times) if times else None


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else to_datetime(float(epoch)).isoformat()
