"""The sink copies of the events a worker absorbed since its last checkpoint, in memory.

Why: writing each event's copies to the sinks' SQLite outboxes as it was handled cost one
outbox transaction per event and sink (~200 µs CPU per event on the broker bench,
bench/RESULTS.md 2026-12-04 "what the broker adds"). A copy needs to be durable only before the
checkpoint claims its event (the changelog marker, then the offsets): until then a crash
redelivers the event and it makes the copy again. So the effect runner keeps an event's copies
with the event (``EventScope.sinks``: an event undone leaves none), the checkpoint's gate moves
them here when the event is absorbed, and the checkpoint hands the whole buffer to the sinks
in one outbox transaction per sink, before its marker (streams/checkpoint.py, step 3).

Each copy is held with its partition, in the order the events were absorbed: a partition given
away takes its copies with it (the next owner redoes those events), and what a failed handoff
took is put back in front, so the sinks still see every record in absorption order.

>>> buffer = SinkBuffer()
>>> buffer.absorb(0, ["a"]); buffer.absorb(1, ["b"]); buffer.absorb(0, ["c"])
>>> taken = buffer.take(); [r for _, r in taken], len(buffer)
(['a', 'b', 'c'], 0)
>>> buffer.absorb(1, ["d"]); buffer.restore(taken, held={1}); [r for _, r in buffer.held]
['b', 'd']
>>> buffer.drop(1); len(buffer)
0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

R = TypeVar("R")


class SinkBuffer(Generic[R]):
    """``(partition, record)`` pairs in absorption order (pure: no I/O, no clock)."""

    def __init__(self) -> None:
        self.held: list[tuple[int, R]] = []

    def __len__(self) -> int:
        return len(self.held)

    def absorb(self, partition: int, records: Iterable[R]) -> None:
        """Keep the copies of one event ``partition`` just absorbed."""
        self.held.extend((partition, record) for record in records)

    def take(self) -> list[tuple[int, R]]:
        """Everything held, oldest first; the buffer is empty afterwards."""
        taken, self.held = self.held, []
        return taken

    def restore(self, taken: list[tuple[int, R]], held: Collection[int]) -> None:
        """Put back in front what :meth:`take` returned and the sinks did not store, except the
        copies of partitions no longer in ``held`` (given away meanwhile: not ours to write)."""
        self.held[:0] = [(p, r) for p, r in taken if p in held]

    def drop(self, partition: int) -> None:
        """Forget ``partition``'s copies: it was given away, and its next owner redoes the
        events after its last marker, copies included."""
        self.held = [(p, r) for p, r in self.held if p != partition]
