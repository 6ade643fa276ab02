"""Which of the store's values are kept decoded: the most recently used, up to a budget.

A value a worker has not used for a while is held as its changelog bytes
(:class:`streams.packing.Cold`) instead of as objects. Why: a decoded value costs several times
its JSON (a warning's ~13 KB of JSON is ~23 KB of pydantic objects, a rule window's ~150 bytes
~500), and with 100,000 distinct entities the decoded values alone were ~1 GiB (bench/RESULTS.md,
2026-12-03 "memory"). Kafka Streams bounds its record cache the same way
(``statestore.cache.max.bytes``, counted in serialised bytes).

The budget counts a decoded value as its JSON length, the one size known without walking the
objects. Values are only made cold at a checkpoint (streams/checkpoint.py), with no event in
flight and right after the checkpoint encoded every changed value, so a value goes cold as the
very bytes the changelog got: nothing is encoded twice and nothing being changed is touched.
"""

from __future__ import annotations

from collections import OrderedDict
from itertools import islice
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from streams.packing import Cold

Where = tuple[int, str, str]
"""(partition, table, key)"""

_SLICE = 256
"""Values :meth:`HotValues.coldest` reads at a time."""


class HotValues:
    """The decoded values of evictable tables, least recently used first, each with its
    encoding once it has one (``None`` while it changed since the last checkpoint)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.weight = 0  # JSON bytes of the decoded values with a known encoding
        self._order: OrderedDict[Where, Cold | None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._order)

    def used(self, where: Where) -> None:
        """A decoded value was read: it is the most recent."""
        if where in self._order:
            self._order.move_to_end(where)
        else:
            self._order[where] = None

    def changed(self, where: Where) -> None:
        """A new decoded value was stored: its encoding is not known until the checkpoint."""
        self._drop_weight(self._order.pop(where, None))
        self._order[where] = None

    def encoded(self, where: Where, cold: Cold) -> None:
        """The value's bytes are now known (the checkpoint encoded it, or it was decoded from
        them): it can go cold without being encoded again."""
        if where not in self._order:
            return
        self._drop_weight(self._order[where])
        self._order[where] = cold
        self.weight += cold.size

    def forget(self, where: Where) -> None:
        """The value is gone or cold."""
        self._drop_weight(self._order.pop(where, None))

    def forget_partition(self, partition: int) -> None:
        """Forget every value of ``partition``: a partition that moves leaves its values behind, and
        their weight must not hold the budget."""
        for where in [w for w in self._order if w[0] == partition]:
            self.forget(where)

    def coldest(self) -> Iterator[tuple[Where, Cold]]:
        """Least recently used first, while over budget: values that can go cold (the
        caller makes each cold and :meth:`forget` s it, or leaves it).

        Read a slice at a time rather than copying every key at each checkpoint (the order
        holds every decoded value; under budget nothing is read at all): the caller forgets
        what it makes cold, so the values left in place are counted and skipped."""
        kept = 0  # values before the next slice that stay (no encoding, or left by the caller)
        while self.weight > self.budget:
            chunk = list(islice(self._order.items(), kept, kept + _SLICE))
            if not chunk:
                return
            for where, cold in chunk:
                if self.weight <= self.budget:
                    return
                if cold is not None:
                    yield where, cold
                if where in self._order:
                    kept += 1

    def _drop_weight(self, cold: Cold | None) -> None:
        if cold is not None:
            self.weight -= cold.size


class TableSizes:
    """Each table's recent value size, as JSON bytes: what a changed value is counted as while
    its own size is unknown (it is encoded only at the checkpoint).

    Why an average: the checkpoint's budget of changed state (``RISKLOOP_MEMORY__DIRTY_BYTES``,
    streams/checkpoint.py) must be checked on every write, and encoding a value to learn its size
    would be the checkpoint's work done once per write instead of once per checkpoint. Each
    value the checkpoint encodes moves its table's figure (an exponential average over about
    the last :data:`_SPAN` values, so a table whose values grow, as warnings gather history,
    is followed).

    >>> sizes = TableSizes()
    >>> sizes.of("warnings")
    1024
    >>> sizes.seen("warnings", 13_000); sizes.of("warnings")
    13000
    >>> sizes.seen("warnings", 13_000 + 32 * 64); sizes.of("warnings")
    13064
    """

    def __init__(self) -> None:
        self._sizes: dict[str, float] = {}

    def of(self, table: str) -> int:
        """The size a changed value of ``table`` is counted as."""
        return int(self._sizes.get(table, _UNSEEN))

    def seen(self, table: str, size: int) -> None:
        """The checkpoint encoded a value of ``table`` as ``size`` JSON bytes."""
        now = self._sizes.get(table)
        self._sizes[table] = size if now is None else now + (size - now) / _SPAN


_UNSEEN = 1024
"""JSON bytes a value of a table is counted as before the first of its values is encoded."""
_SPAN = 32
