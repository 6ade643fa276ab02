"""Event time per source partition: the clock absence rules and silent trucks run on.

A silence is judged against the stream's own time, not the wall clock: replaying yesterday's
backlog at full speed (after an outage, a crash, or in a backtest) must raise the silences the
live run raised, no more. Each source partition's clock is the newest event time read from it.
When a partition has had no event at all for ``idle_after`` seconds of wall time (the stream
itself went quiet), its clock moves on with the wall clock from there, so the last devices of a
quiet partition still go offline; ``idle_after = 0`` keeps the clocks on event time only.

The clocks are per worker and in memory: after a restart a partition has no clock until its
first event (silences then fire at the latest when the device reports again, see
``rules.engine.RuleEngine._absence_event``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EventClocks:
    """(source, partition) → newest event time read (epoch s) and the wall time it was read."""

    idle_after: float = 0.0
    _seen: dict[tuple[str, int], tuple[float, float]] = field(default_factory=dict)

    def observe(self, source: str, partition: int, at: float, wall: float) -> None:
        old = self._seen.get((source, partition))
        self._seen[(source, partition)] = (at if old is None else max(old[0], at), wall)

    def now(self, partition: int, wall: float) -> dict[str, float]:
        """Source → event-time clock of ``partition`` (sources never read here are absent).

        >>> clocks = EventClocks(idle_after=60)
        >>> clocks.observe("equipment", 0, at=1000.0, wall=5000.0)
        >>> clocks.now(0, wall=5030.0), clocks.now(0, wall=5090.0), clocks.now(1, wall=5090.0)
        ({'equipment': 1000.0}, {'equipment': 1090.0}, {})
        """
        out: dict[str, float] = {}
        for (source, p), (at, seen) in self._seen.items():
            if p != partition:
                continue
            idle = wall - seen
            out[source] = at + idle if self.idle_after and idle >= self.idle_after else at
        return out

    def forget(self) -> None:
        """After a rebalance: partitions may now belong to someone else, or come back rewound."""
        self._seen.clear()
