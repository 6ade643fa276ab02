"""Where each unit of a model lives in the changelog: the head or a sealed segment.

Why (issue #16): a checkpoint must write few model records however many units changed (one
record per unit was 14× the model records per event on a stream of few busy entities) and must
not re-encode, nor re-write, the units that did not change (with 50,000 entities most of them).
So a model's units are kept as in a log-structured store (models/unit_records.py has the
record format):

- the **head**: the units changed lately, as their packed bytes, carried inside the model's
  global snapshot record, which is written whenever the model is; a unit changed again is
  replaced in it, so a stream of few busy entities never writes more than that one record per
  model — the model records per event of a whole snapshot;
- **sealed segments** ``0, 1, …``: once the head's units that did not change at a checkpoint
  pass :data:`CARRY_BYTES` (and the bytes of those that did), they are cut into segments of at
  most :data:`SEGMENT_BYTES` and written as records of their own, never again (the whole head
  past :data:`HEAD_BYTES`); a unit of a sealed segment changed since lives in the head (or a
  later segment), and the newest entry wins on restore;
- **compaction**: once more than half the entries of the sealed segments are stale (and at
  least :data:`MIN_STALE`), the model is written whole under a new epoch — every unit, as the
  bytes it holds, into new segments — and the old segments get tombstones, so the changelog
  keeps O(units) bytes and Kafka's compaction (by key) only ever drops superseded records.

A deleted unit is an entry without bytes (so a sealed older version is not brought back); such
entries go at the next compaction. What a checkpoint writes is thus the changed units' bytes
plus at most ~CARRY_BYTES of unchanged ones in the head, the segments it seals (bytes written
before, once more) and, amortised, compaction's share.

>>> from models.unit_map import UnitMap
>>> m = UnitMap[int](); m["a"] = 1
>>> ledger = UnitLedger.fresh(None)
>>> sealed, dropped = ledger.write({"units": m}, whole=True)
>>> sealed, dropped, sorted(ledger.head)
([], [], [('units', 'a')])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from models.unit_records import new_epoch

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from models.unit_records import Entry, UnitStore

HEAD_BYTES = 128 * 1024
"""Past this many bytes of units the head is sealed whole (kept under the global record's
chunk)."""
CARRY_BYTES = 16 * 1024
"""The head's units that did not change at a checkpoint are sealed once their bytes pass this
and the changed ones' (the busy units stay in the head): what a checkpoint writes again of
units that did not change stays at about this, per model and partition."""
SEGMENT_BYTES = 384 * 1024
"""Most units' bytes in one sealed segment (a record stays under Kafka's 1 MB default)."""
MIN_STALE = 2_000
"""Stale sealed entries below which no compaction is worth a whole write."""
DELETED = 32
"""What a deleted unit's entry counts for in the head's bytes (its header)."""


@dataclass
class UnitLedger:
    """One model's units in the changelog, as its checkpoints last wrote them (module doc)."""

    epoch: str
    next_seq: int = 0
    segments: dict[int, int] = field(default_factory=dict)
    """Sealed segments of this epoch in the changelog → the entries each holds."""
    head: dict[tuple[str, str], tuple[bytes | None, int]] = field(default_factory=dict)
    """``(map, unit)`` → packed bytes (None: deleted) and readings seen, not yet sealed."""
    head_bytes: int = 0
    sealed: dict[str, set[str]] = field(default_factory=dict)
    """Per map, the units whose newest entry is in a sealed segment."""

    @classmethod
    def fresh(cls, previous: UnitLedger | None) -> UnitLedger:
        """A ledger under a new epoch; its segments continue ``previous``'s numbering, so a
        new segment never shares a key with one that is still to be tombstoned."""
        return cls(epoch=new_epoch(), next_seq=previous.next_seq if previous else 0)

    @property
    def stale(self) -> int:
        """Entries of the sealed segments that a newer entry replaced."""
        return sum(self.segments.values()) - sum(len(s) for s in self.sealed.values())

    def write(
        self, maps: Mapping[str, UnitStore], *, whole: bool
    ) -> tuple[list[tuple[int, list[Entry]]], list[int]]:
        """Take the maps' changes (every unit when ``whole`` or when compaction is due: a new
        epoch then); returns the segments to seal now and the sealed segments no longer in use
        (to tombstone). The head is then :attr:`head`."""
        dropped: list[int] = []
        if whole or self.stale > max(MIN_STALE, sum(self.segments.values()) // 2):
            dropped = sorted(self.segments)
            self.epoch, self.segments, self.sealed = new_epoch(), {}, {}
            self.head, self.head_bytes = {}, 0
            whole = True
        now: set[tuple[str, str]] = set()
        for map_name, units in maps.items():
            changed, gone = units.take_changes(every=whole)
            for unit, (blob, seen) in changed.items():
                self._put(map_name, unit, blob, seen)
                now.add((map_name, unit))
            for unit in gone:
                self._put(map_name, unit, None, 0)
                now.add((map_name, unit))
        fresh = sum(_size(self.head[k][0]) for k in now)
        if self.head_bytes > HEAD_BYTES:
            return self._seal(set(self.head)), dropped
        if self.head_bytes - fresh > max(CARRY_BYTES, fresh):
            return self._seal(set(self.head) - now), dropped
        return [], dropped

    def entries(self) -> list[Entry]:
        """The head's entries, ready for :func:`models.unit_records.seal`."""
        return [(m, u, blob, seen) for (m, u), (blob, seen) in self.head.items()]

    def _put(self, map_name: str, unit: str, blob: bytes | None, seen: int) -> None:
        old = self.head.get((map_name, unit))
        if old is not None:
            self.head_bytes -= _size(old[0])
        self.head[map_name, unit] = (blob, seen)
        self.head_bytes += _size(blob)
        held = self.sealed.get(map_name)
        if held is not None:
            held.discard(unit)

    def _seal(self, keys: set[tuple[str, str]]) -> list[tuple[int, list[Entry]]]:
        """The head's entries of ``keys`` cut into segments of at most :data:`SEGMENT_BYTES`,
        and out of the head."""
        out: list[tuple[int, list[Entry]]] = []
        batch: list[Entry] = []
        size = 0
        for entry in [*(e for e in self.entries() if (e[0], e[1]) in keys), None]:
            full = entry is None or (bool(batch) and size + len(entry[2] or b"") > SEGMENT_BYTES)
            if full and batch:
                out.append((self.next_seq, batch))
                self.segments[self.next_seq] = len(batch)
                self.next_seq += 1
                batch, size = [], 0
            if entry is not None:
                batch.append(entry)
                size += len(entry[2] or b"")
                self.sealed.setdefault(entry[0], set()).add(entry[1])
                self.head_bytes -= _size(self.head.pop((entry[0], entry[1]))[0])
        return out

    @classmethod
    def restored(
        cls,
        epoch: str,
        segments: Mapping[int, list[Entry]],
        head: Iterable[Entry],
    ) -> tuple[UnitLedger, dict[tuple[str, str], tuple[bytes, int]]]:
        """The ledger a checkpoint left (its verified segments and head), and the units it
        holds now: the newest entry of each, the deleted ones left out."""
        ledger = cls(epoch=epoch, next_seq=max(segments, default=-1) + 1)
        newest: dict[tuple[str, str], tuple[bytes | None, int, bool]] = {}
        for seq in sorted(segments):
            ledger.segments[seq] = len(segments[seq])
            for map_name, unit, blob, seen in segments[seq]:
                newest[map_name, unit] = (blob, seen, True)
        for map_name, unit, blob, seen in head:
            newest[map_name, unit] = (blob, seen, False)
            ledger.head[map_name, unit] = (blob, seen)
            ledger.head_bytes += _size(blob)
        units: dict[tuple[str, str], tuple[bytes, int]] = {}
        for (map_name, unit), (blob, seen, in_sealed) in newest.items():
            if in_sealed:
                ledger.sealed.setdefault(map_name, set()).add(unit)
            if blob is not None:
                units[map_name, unit] = (blob, seen)
        return ledger, units


def _size(blob: bytes | None) -> int:
    """What an entry counts for in the head's bytes."""
    return DELETED if blob is None else len(blob)
