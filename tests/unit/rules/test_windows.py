"""Each window kind through the engine, with state round-tripped through JSON (a restart)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.engine import RuleEngine
from rules.windows import aggregate_add, duration_step
from tests.unit.rules.conftest import roundtrip, rule

if TYPE_CHECKING:
    from rules.compiler import CompiledPack

Make = Callable[..., Any]


def complaint_surge(**window: Any) -> dict[str, Any]:
    spec = {"kind": "aggregate", "function": "count", "size": "7d", "threshold": 3, **window}
    return rule(
        id="c.surge",
        sources=["complaints"],
        condition="event.uscc != null",
        entity="uscc",
        window=spec,
        examples=[
            {"name": "f", "fire": True, "events": [{"uscc": "U1"}] * 3},
            {"name": "n", "fire": False, "event": {"uscc": "U1"}},
        ],
    )


def run(engine: RuleEngine, source: str, events: list[dict], state: dict) -> tuple[list, dict]:
    hits = []
    for ev in events:
        hits += engine.evaluate(source, ev, state)
        state = roundtrip(state)
    return hits, state


def test_sliding_count_fires_at_threshold(make_pack: Make, event: Make) -> None:
    engine = RuleEngine([make_pack(complaint_surge())])
    day = 24 * 60
    events = [event("complaints", m, uscc="U1", text="x") for m in (0, 2 * day, 6 * day)]
    hits, state = run(engine, "complaints", events, {})
    assert len(hits) == 1
    assert hits[0].values["window.count"] == 3
    assert hits[0].entity == "U1"
    late = event("complaints", 14 * day, uscc="U1", text="x")
    assert engine.evaluate("complaints", late, state) == []  # the window slid on


def test_sliding_window_memory_is_bounded(make_pack: Make, event: Make) -> None:
    engine = RuleEngine([make_pack(complaint_surge(buckets=10))])
    state: dict = {}
    for i in range(500):
        engine.evaluate("complaints", event("complaints", i * 97, uscc="U1", text="x"), state)
    assert len(state["c.surge|U1"]["b"]) <= 12


def test_out_of_order_event_counted_where_it_fell(make_pack: Make, event: Make) -> None:
    engine = RuleEngine([make_pack(complaint_surge())])
    day = 24 * 60
    events = [event("complaints", m, uscc="U1", text="x") for m in (3 * day, 5 * day, 1 * day)]
    hits, _ = run(engine, "complaints", events, {})
    assert len(hits) == 1


def test_tumbling_window_resets_per_window() -> None:
    state, agg = None, None
    for at in (10.0, 20.0, 30.0):
        state, agg = aggregate_add(state, at, 2.0, size=100, width=100)
    assert agg == {"count": 3, "sum": 6.0, "avg": 2.0, "max": 2.0}
    state, agg = aggregate_add(state, 110.0, 5.0, size=100, width=100)
    assert agg is not None
    assert agg["count"] == 1
    assert agg["max"] == 5.0
    state, agg = aggregate_add(state, 50.0, 1.0, size=100, width=100)  # late, previous window
    assert agg is not None
    assert agg["count"] == 4


def window_by_definition(
    buckets: list[list[Any]], start: float, low: float, width: int, tumbling: bool
) -> dict[str, Any]:
    """The aggregate as aggregate_add's docstring defines it, written the plain way: every
    bucket sorted by start, those overlapping the window (tumbling: the event's own) summed in
    that order."""
    inside = [
        b
        for b in sorted(buckets, key=lambda b: b[0])
        if (b[0] == start if tumbling else b[0] + width > low)
    ]
    total: float = 0
    for b in inside:
        total += float(b[2])
    count = sum(int(b[1]) for b in inside)
    return {
        "count": count,
        "sum": total,
        "avg": total / count if count else 0.0,
        "max": max((float(b[3]) for b in inside), default=0.0),
    }


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(-3, 40).map(lambda k: k * 450.0 + 7.5),
            st.sampled_from([1.0, 0.0, -2.5, 3.0, 1e9]),
        ),
        min_size=1,
        max_size=60,
    ),
    shape=st.sampled_from([(3600, 600), (3600, 3600), (7200, 1), (86400, 1440)]),
)
def test_aggregate_is_its_definition_in_every_state(
    steps: list[tuple[float, float]], shape: tuple[int, int]
) -> None:
    """Late, early and repeated instants, sliding and tumbling: each step's aggregate (to the
    last bit, and its type) and bucket list are what the definition gives for the buckets kept,
    and the buckets stay sorted by start — so skipping the window test and the per-bucket sort
    key (a cost that grew with the stream) changed nothing."""
    size, width = shape
    state: dict[str, Any] | None = None
    for at, value in steps:
        before = state
        state, agg = aggregate_add(state, at, value, size, width)
        if agg is None:  # too late: dropped, nothing changed
            assert state["b"] == (before or {}).get("b", [])
            continue
        buckets = state["b"]
        assert [b[0] for b in buckets] == sorted(b[0] for b in buckets)
        low = state["w"] - size
        expected = window_by_definition(buckets, at - at % width, low, width, width >= size)
        assert agg == expected
        assert [type(v) for v in agg.values()] == [type(v) for v in expected.values()]
        assert repr(agg) == repr(expected)
        state = roundtrip(state)


def pressure_rule() -> dict[str, Any]:
    cond = "has(event.metrics.p) && event.metrics.p > event.rated.p"
    return rule(
        id="e.pressure",
        sources=["equipment"],
        condition=cond,
        window={
            "kind": "duration",
            "for": "10m",
            "clear": "has(event.metrics.p) && event.metrics.p <= event.rated.p * 0.9",
        },
        examples=[
            {
                "name": "f",
                "fire": True,
                "events": [
                    {"metrics": {"p": 2}, "rated": {"p": 1}},
                    {"metrics": {"p": 2}, "rated": {"p": 1}, "event_time": "+10m"},
                ],
            },
            {"name": "n", "fire": False, "event": {"metrics": {"p": 2}, "rated": {"p": 1}}},
        ],
    )


def test_duration_one_hit_per_episode_with_hysteresis(make_pack: Make, event: Make) -> None:
    engine = RuleEngine([make_pack(pressure_rule())])

    def reading(minute: float, p: float) -> dict:
        return event("equipment", minute, metrics={"p": p}, rated={"p": 1.0})

    # pending 0..10 → fires at 10; 0.95 is inside the band: still the same episode
    first = [
        reading(0, 1.2),
        reading(5, 1.3),
        reading(10, 1.2),
        reading(12, 0.95),
        reading(25, 1.2),
    ]
    hits, state = run(engine, "equipment", first, {})
    assert len(hits) == 1
    assert hits[0].values["metrics.p"] == 1.2
    # cleared at 30 (≤ 0.9), then a new episode fires after another 10 minutes
    second = [reading(30, 0.8), reading(31, 1.5), reading(41, 1.5), reading(50, 1.5)]
    hits, _ = run(engine, "equipment", second, state)
    assert len(hits) == 1
    assert hits[0].event_time.minute == 41


def test_duration_stale_event_ignored() -> None:
    state, _ = duration_step(None, at=100.0, active=True, cleared=False, hold=60)
    state, fired = duration_step(state, at=50.0, active=False, cleared=True, hold=60)
    assert not fired
    assert state["since"] == 100.0
    _, fired = duration_step(state, at=170.0, active=True, cleared=False, hold=60)
    assert fired


def offline_rule() -> dict[str, Any]:
    return rule(
        id="e.offline",
        sources=["equipment"],
        condition="true",
        window={
            "kind": "absence",
            "after": "30m",
            "clear": "has(event.metrics.running) && event.metrics.running == 0.0",
        },
        examples=[
            {"name": "f", "fire": True, "event": {}, "tick": "+31m"},
            {"name": "n", "fire": False, "event": {}, "tick": "+5m"},
        ],
    )


def test_absence_fires_once_on_tick_and_rearms(make_pack: Make, event: Make) -> None:
    engine = RuleEngine([make_pack(offline_rule())])
    first = event("equipment", 0, equipment_code="E1")
    state = roundtrip({})
    assert engine.evaluate("equipment", first, state) == []
    state = roundtrip(state)
    assert engine.tick("2024-05-06T02:20:00Z", state) == []
    (hit,) = engine.tick("2024-05-06T02:31:00Z", state)
    assert hit.values["window.status"] == "offline"
    assert hit.entity == "E1"
    assert hit.event_id.startswith("e.offline:E1:absent:")
    assert engine.tick("2024-05-06T03:31:00Z", roundtrip(state)) == []  # one hit per silence
    engine.evaluate("equipment", event("equipment", 90, equipment_code="E1"), state)
    assert len(engine.tick("2024-05-06T04:01:00Z", state)) == 1


def test_absence_silence_ended_by_the_next_reading_fires_without_a_tick(
    make_pack: Make, event: Make
) -> None:
    engine = RuleEngine([make_pack(offline_rule())])
    state: dict = {}
    assert engine.evaluate("equipment", event("equipment", 0, equipment_code="E1"), state) == []
    (hit,) = engine.evaluate("equipment", event("equipment", 45, equipment_code="E1"), state)
    assert hit.rule_id == "e.offline"
    assert hit.event_time.isoformat() == "2024-05-06T02:30:00+00:00"
    assert engine.tick("2024-05-06T03:00:00Z", roundtrip(state)) == []  # re-armed at 45


def test_absence_hit_is_the_same_whether_a_tick_or_the_next_reading_fires_it(
    make_pack: Make, event: Make
) -> None:
    engine = RuleEngine([make_pack(offline_rule())])
    first, later = (
        event("equipment", 0, equipment_code="E1"),
        event("equipment", 45, equipment_code="E1"),
    )
    ticked: dict = {}
    engine.evaluate("equipment", first, ticked)
    (by_tick,) = engine.tick("2024-05-06T02:40:00Z", ticked)
    assert engine.evaluate("equipment", later, ticked) == []  # fired once
    direct: dict = {}
    engine.evaluate("equipment", first, direct)
    (by_event,) = engine.evaluate("equipment", later, direct)
    assert by_tick.model_dump() == by_event.model_dump()
    assert ticked == direct


def test_absence_tick_with_per_source_clocks_waits_for_its_own_source(
    make_pack: Make, event: Make
) -> None:
    engine = RuleEngine([make_pack(offline_rule())])
    state: dict = {}
    engine.evaluate("equipment", event("equipment", 0, equipment_code="E1"), state)
    late = "2024-05-06T09:00:00Z"
    assert engine.tick({"inspections": late}, state) == []  # another source's clock: not ours
    assert engine.tick({"equipment": "2024-05-06T02:10:00Z", "inspections": late}, state) == []
    assert len(engine.tick({"equipment": late}, state)) == 1


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["E1", "E2", "E3"]), st.integers(0, 50), st.booleans()),
        min_size=1,
        max_size=25,
    )
)
def test_absence_hits_do_not_depend_on_when_ticks_run(
    steps: list[tuple[str, int, bool]],
) -> None:
    """Readings in event-time order; ticks at the partition's clock after any of them.

    Whatever the ticks, the stream and one last tick raise the same silences: a replay at any
    speed (or after a crash) raises what the original run raised.
    """
    from datetime import datetime, timedelta

    from rules.compiler import load_pack_text
    from rules.sources import example_event
    from tests.unit.rules.conftest import BASE, pack_yaml

    engine = RuleEngine([load_pack_text(pack_yaml([offline_rule()]), origin="t.yaml")])
    t0, minute, readings = datetime.fromisoformat(BASE), 0, []
    for n, (code, gap, _) in enumerate(steps):
        minute += gap
        at = (t0 + timedelta(minutes=minute)).isoformat()
        readings.append(example_event("equipment", {"equipment_code": code}, f"r{n}", at))

    def run(tick_after: list[bool]) -> list[str]:
        state: dict = {}
        hits = []
        for reading, tick in zip(readings, tick_after, strict=True):
            hits += engine.evaluate("equipment", reading, state)
            if tick:
                hits += engine.tick({"equipment": reading["event_time"]}, state)
        hits += engine.tick({"equipment": readings[-1]["event_time"]}, state)
        return sorted(h.event_id for h in hits)

    assert run([t for _, _, t in steps]) == run([False] * len(steps))


def test_absence_stopped_is_not_offline(make_pack: Make, event: Make) -> None:
    engine = RuleEngine([make_pack(offline_rule())])
    state: dict = {}
    engine.evaluate("equipment", event("equipment", 0, equipment_code="E1"), state)
    engine.evaluate(
        "equipment", event("equipment", 5, equipment_code="E1", metrics={"running": 0}), state
    )
    assert engine.tick("2024-05-06T05:00:00Z", roundtrip(state)) == []


def test_engine_skips_disabled_and_reports_shadow(make_pack: Make, event: Make) -> None:
    pack: CompiledPack = make_pack(
        rule(id="a.active"), rule(id="a.shadow", mode="shadow"), rule(id="a.off", mode="disabled")
    )
    hits = RuleEngine([pack]).evaluate("inspections", event("inspections", outcome="fail"), {})
    assert {(h.rule_id, h.mode) for h in hits} == {("a.active", "active"), ("a.shadow", "shadow")}


def test_hit_provenance(make_pack: Make, event: Make) -> None:
    pack = make_pack(
        rule(
            id="a.crit",
            condition='event.outcome == "fail" && event.critical_count > 0',
            task={"department": "market_supervision", "checklist": ["复查"]},
        )
    )
    (hit,) = RuleEngine([pack]).evaluate(
        "inspections", event("inspections", outcome="fail", critical_count=2), {}
    )
    assert (hit.pack, hit.pack_version, hit.pack_hash) == ("test", "1.0.0", pack.content_hash)
    assert hit.values == {"outcome": "fail", "critical_count": 2}
    assert hit.uscc == "91110108MA01ABCD2X"
    assert hit.region_code == "110108"
    assert hit.task is not None
    assert hit.task.department == "market_supervision"


def test_runtime_null_does_not_fire_and_is_counted(make_pack: Make, event: Make) -> None:
    engine = RuleEngine([make_pack(rule(id="a.score", condition="event.score > 50.0"))])
    assert engine.evaluate("inspections", event("inspections"), {}) == []
    assert engine.errors["a.score"] == 1
    assert engine.pop_errors() == {"a.score": 1}  # handed to the caller's metric once
    assert engine.pop_errors() == {}


def test_cleanup_drops_state_of_removed_rules(make_pack: Make, event: Make) -> None:
    engine = RuleEngine([make_pack(complaint_surge(), offline_rule())])
    state: dict = {"other|x": 1}
    engine.evaluate("complaints", event("complaints", uscc="U1", text="x"), state)
    engine.evaluate("equipment", event("equipment"), state)
    assert engine.cleanup(state, ["c.surge"]) == 1
    assert sorted(state) == ["e.offline|31101101082024000001", "other|x"]


def test_group_key_expression(make_pack: Make, event: Make) -> None:
    pack = make_pack(rule(id="a.g", group_key='event.uscc + "/" + event.item_code'))
    (hit,) = RuleEngine([pack]).evaluate(
        "inspections", event("inspections", outcome="fail", item_code="FOOD-1"), {}
    )
    assert hit.group_key == "91110108MA01ABCD2X/FOOD-1"


class _Reads(dict):  # type: ignore[type-arg]
    """A rule state that records which keys were read."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.read: list[str] = []

    def get(self, key: Any, default: Any = None) -> Any:
        self.read.append(key)
        return super().get(key, default)


def test_absence_due_is_when_tick_fires_and_other_windows_are_never_read(
    make_pack: Make, event: Make
) -> None:
    """A timer reads only keys whose ``absence_due`` has come (streams/timers.py); the engine
    tells an absence window by its key alone, and a full tick does not decode other windows."""
    engine = RuleEngine([make_pack(offline_rule()), make_pack(complaint_surge())])
    state = _Reads()
    engine.evaluate("equipment", event("equipment", 0, equipment_code="E1"), state)
    engine.evaluate("equipment", event("equipment", 10, equipment_code="E2"), state)
    engine.evaluate("complaints", event("complaints", 0, uscc="U1"), state)
    silences = sorted(k for k in state if engine.times_silence(k))
    others = [k for k in state if not engine.times_silence(k)]
    assert len(silences) == 2
    assert others
    due = {k: engine.absence_due(k, state[k]) for k in silences}
    e1, e2 = silences
    assert due[e2] - due[e1] == 600.0  # 10 minutes apart, 30 minutes each
    assert all(engine.absence_due(k, state[k]) is None for k in others)
    state.read.clear()
    assert engine.tick(due[e1] - 1, state) == []
    assert state.read
    assert not set(state.read) & set(others)
    (hit,) = engine.tick(due[e1], state, keys=[e1])
    assert hit.entity == "E1"
    assert engine.absence_due(e1, state[e1]) is None  # fired: not due again until re-armed
    state.read.clear()
    assert engine.tick(due[e2], state, keys=[]) == []  # a key not given is not read
    assert state.read == []
    assert len(engine.tick(due[e2], state, keys=[e1, e2])) == 1  # E2 only: E1 has fired
