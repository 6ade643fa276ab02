"""Dedup of source events by id within a time window, over any mutable mapping.

The store maps event id → event time (epoch seconds). Backed by a Faust table it lives in a
changelog topic, so a worker that restarts (or takes over a partition) still recognises
events it saw before: redelivery after a crash must not make a second warning.

Expiry does bounded work per call (``max_expire``) so a timer can call it often without
stalling the agent. Ids added in this process are kept in a heap by event time; ids that were
already in the store when the window was created (after a restart) are swept once, a slice
per call.

>>> w = DedupWindow({}, window_seconds=60)
>>> w.seen("e1", 1000.0), w.seen("e1", 1000.0), w.seen("e2", 1001.0)
(False, True, False)
>>> w.seen("e1", 1100.0)  # same id, outside the window: a new event
False
>>> w.expire(now=1200.0), len(w)
(2, 0)
"""

from __future__ import annotations

import heapq
from itertools import islice
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, MutableMapping


class DedupWindow:
    """``seen(id, t)`` is True for a duplicate: the same id within ``window_seconds`` of ``t``.

    A window of 0 (or less) turns dedup off: nothing is stored, nothing is a duplicate.
    """

    def __init__(
        self, store: MutableMapping[str, float], window_seconds: float, *, max_expire: int = 1000
    ) -> None:
        self._store = store
        self._window = float(window_seconds)
        self._max_expire = max(1, max_expire)
        self._heap: list[tuple[float, str]] = []
        self._sweep: Iterator[str] | None = None
        self._swept = False

    def __len__(self) -> int:
        return len(self._store)

    @property
    def store(self) -> MutableMapping[str, float]:
        """The ``id → event time`` mapping the window keeps (for checks and tools)."""
        return self._store

    def seen(self, event_id: str, event_time_epoch: float) -> bool:
        """True if ``event_id`` was seen within the window of ``event_time_epoch``; else record it."""
        if self._window <= 0:
            return False
        previous = self._store.get(event_id)
        if previous is not None and abs(event_time_epoch - previous) <= self._window:
            return True
        self._store[event_id] = event_time_epoch
        heapq.heappush(self._heap, (event_time_epoch, event_id))
        return False

    def expire(self, now: float) -> int:
        """Forget ids older than the window before ``now``; at most ``max_expire`` looked at.

        Returns how many ids were removed.
        """
        budget, removed = self._max_expire, 0
        horizon = now - self._window
        if not self._swept:
            if self._sweep is None:
                self._sweep = iter(list(self._store.keys()))
            batch = list(islice(self._sweep, budget))
            budget -= len(batch)
            for key in batch:
                t = self._store.get(key)
                if t is not None and t < horizon:
                    del self._store[key]
                    removed += 1
            if budget > 0:  # the iterator ran dry: the pre-existing ids are all looked at
                self._swept, self._sweep = True, None
        while budget > 0 and self._heap and self._heap[0][0] < horizon:
            t, key = heapq.heappop(self._heap)
            budget -= 1
            if self._store.get(key) == t:  # not re-seen with a newer time since
                del self._store[key]
                removed += 1
        return removed
