"""The reliability scenarios of ``riskloop bench --chaos``: one module per kind of fault.

Each scenario is a function ``Context → Outcome`` registered here with a one-line description
and whether it is *fast* (the fast ones also run in CI, tests/integration/test_reliability.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.scenarios import hotload, kills, outages, poison
from bench.stats import BenchError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from bench.chaos import Context, Outcome


@dataclass(frozen=True)
class Scenario:
    """One reliability scenario; ``fast`` ones also run in CI."""

    name: str
    run: Callable[[Context], Outcome]
    description: str
    fast: bool


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "sigkill", kills.sigkill_restart, "SIGKILL the worker mid-stream, restart it", False
        ),
        Scenario(
            "failover", kills.group_failover, "two workers in one group, one SIGKILLed", False
        ),
        Scenario(
            "broker-outage", outages.broker_outage, "own Kafka stopped 30 s mid-stream", False
        ),
        Scenario(
            "sink-outage", outages.sink_outage, "own PostgreSQL and Redis stopped, restarted", True
        ),
        Scenario(
            "hotload", hotload.publish_every_second, "a rule pack published every second", True
        ),
        Scenario("poison", poison.garbage_storm, "10% garbage records in the stream", True),
    )
}


def select(names: Sequence[str] | None) -> list[str]:
    """The scenarios named (all when empty), in registry order; unknown names are refused."""
    if not names:
        return list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise BenchError(
            f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}"
        )
    return [n for n in SCENARIOS if n in names]
