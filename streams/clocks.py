"""Event time per source partition: the clock absence rules and silent trucks run on.

A silence is judged against the stream's own time, not the wall clock: replaying yesterday's
backlog at full speed (after an outage, a crash, or in a backtest) must raise the silences the
live run raised, no more. Each source partition's clock is the newest event time read from it.
When a partition has had no event at all for ``idle_after`` seconds of wall time (the stream
itself went quiet), its clock moves on with the wall clock from there, so the last devices of a
quiet partition still go offline; ``idle_after = 0`` keeps the clocks on event time only.

The event times live in ``store`` — in a worker the ``clocks`` Faust table, so a restarted
worker knows how far each partition had got even if nothing is left to redeliver there (the
stream's trailing silences must still fire as in an uninterrupted run). It is a maximum, so a
redelivered event changes nothing and it needs no journal. When each was last read (for idle
partitions) is kept in memory: after a restart, idle time counts from the first tick.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import MutableMapping


@dataclass
class EventClocks:
    """Newest event time read per "source|partition" (epoch s), and when each was read (wall)."""

    store: MutableMapping[str, float] = field(default_factory=dict)
    idle_after: float = 0.0
    _read_at: dict[str, float] = field(default_factory=dict)

    def observe(self, source: str, partition: int, at: float, wall: float) -> None:
        """An event of ``source`` at ``at`` (epoch s) read from ``partition`` at ``wall``: the clock
        only moves forward, so a redelivered or late event leaves it as it was."""
        key = f"{source}|{partition}"
        old = self.store.get(key)
        if old is None or at > old:
            self.store[key] = at
        self._read_at[key] = wall

    def now(self, partition: int, wall: float) -> dict[str, float]:
        """Source → event-time clock of ``partition`` (sources never read here are absent).

        >>> clocks = EventClocks(idle_after=60)
        >>> clocks.observe("equipment", 0, at=1000.0, wall=5000.0)
        >>> clocks.now(0, wall=5030.0), clocks.now(0, wall=5090.0), clocks.now(1, wall=5090.0)
        ({'equipment': 1000.0}, {'equipment': 1090.0}, {})
        """
        out: dict[str, float] = {}
        for key in list(self.store.keys()):
            source, _, p = str(key).rpartition("|")
            at = self.store.get(key)
            if p != str(partition) or at is None:
                continue
            idle = wall - self._read_at.setdefault(key, wall)
            out[source] = at + idle if self.idle_after and idle >= self.idle_after else at
        return out

    def cap(self, partition: int, clocks: dict[str, float], wall: float) -> dict[str, float]:
        """``clocks`` (a clock tick's) no later than what ``partition``'s own state has absorbed.

        Why: a clock tick is sent when the wall tick is handled, from the clocks in memory, and
        it can reach Kafka before the checkpoint that holds the readings it counted (the worker
        killed in between, or the partition moved). The next owner restores the older
        checkpoint and may read the tick before those readings come again: judged at the
        tick's time, an elevator whose later reading is not yet redone looked silent, and an
        offline warning an uninterrupted run never raised came out (tests/streams/test_timers.py;
        most likely the extra offline tasks of the SIGKILL test in CI, 2026-12-06). Judged at
        the restored clock instead, a tick decides exactly what a tick sent now would; the
        readings, redone, move the clock on. A source this partition has never absorbed is
        left out: nothing of it is held here to fall silent.

        >>> clocks = EventClocks()
        >>> clocks.observe("equipment", 0, at=1000.0, wall=5000.0)
        >>> clocks.cap(0, {"equipment": 4000.0, "trucks": 4000.0}, wall=5001.0)
        {'equipment': 1000.0}
        >>> clocks.cap(0, {"equipment": 900.0}, wall=5001.0)
        {'equipment': 900.0}
        """
        own = self.now(partition, wall)
        return {source: min(at, own[source]) for source, at in clocks.items() if source in own}

    def forget(self) -> None:
        """After a rebalance: idle time of the partitions we (still) own counts from now."""
        self._read_at.clear()
