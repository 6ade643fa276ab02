"""The engine's per-rule time budget: a clock the test drives, so nothing here is timed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rules.engine import RuleBudget, RuleEngine
from tests.unit.rules.conftest import rule

if TYPE_CHECKING:
    from collections.abc import Callable

    from rules.compiler import CompiledPack


class StepClock:
    """Advances by the cost the test gives the rule being run: each read pops the next time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.costs: list[float] = []
        self._started = False

    def __call__(self) -> float:
        if self._started:
            self.now += self.costs.pop(0)
        self._started = not self._started
        return self.now


def two_rules(make_pack: Callable[..., CompiledPack]) -> CompiledPack:
    return make_pack(rule(id="t.slow"), rule(id="t.fast"))


def test_a_rule_over_budget_three_times_is_disabled_and_the_rest_runs(
    make_pack: Callable[..., CompiledPack], event: Callable[..., dict[str, Any]]
) -> None:
    clock = StepClock()
    engine = RuleEngine(
        [two_rules(make_pack)], budget=RuleBudget(seconds=0.05, strikes=3), clock=clock
    )
    fired = []
    for _ in range(4):
        clock.costs += [1.0, 0.001]  # t.slow overruns, t.fast does not
        fired.append(
            sorted(
                h.rule_id
                for h in engine.evaluate("inspections", event("inspections", outcome="fail"), {})
            )
        )
    assert fired[:3] == [["t.fast", "t.slow"]] * 3
    assert fired[3] == ["t.fast"]
    assert set(engine.tripped) == {"t.slow"}
    assert "over 0.05s" in engine.tripped["t.slow"]
    assert engine.pop_tripped() == ["t.slow"]
    assert engine.pop_tripped() == []


def test_runs_within_budget_forgive_an_occasional_overrun(
    make_pack: Callable[..., CompiledPack], event: Callable[..., dict[str, Any]]
) -> None:
    clock = StepClock()
    engine = RuleEngine(
        [two_rules(make_pack)],
        budget=RuleBudget(seconds=0.05, strikes=3, forgive=0.5),
        clock=clock,
    )
    for _ in range(10):  # one overrun (a GC pause), then two good runs, again and again
        for cost in (1.0, 0.0, 0.0):
            clock.costs += [cost, 0.0]
            engine.evaluate("inspections", event("inspections", outcome="fail"), {})
    assert engine.tripped == {}
