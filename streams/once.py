"""Effectively-once state: what a redelivered event finds in the tables.

Faust (at least once) writes a table's changelog as soon as a value is set, but sends the
messages an event produces when its offset is committed. A worker killed in between restarts
with tables that already hold the event's effect while its outputs were never sent, and the
event is delivered again. Applying it a second time double-counts; skipping it loses the
outputs. (Faust's ``exactly_once`` mode would make both one transaction, but it does not
commit reliably: faust-streaming issue #517, and our own test never saw offsets advance.)

So every table value is journalled: next to the value, the entries of the not yet committed
events that wrote it — the input (``topic:partition``, offset), the value before it, and the
outputs it produced. A journal is read in one of two ways, fixed per table:

* **rewind** (rule windows, vehicles, dedup, profiles, precision): a redelivered event reads
  the value as it was before its first delivery, so the pure engines recompute the very same
  result. Keys are written in input order, so rewinding to an entry drops the ones after it;
  they are not committed either and come again. (Edge: rule windows and vehicles are also
  written by the partition's tick; if a tick and an event both wrote a key before a crash and
  come back in the other order, the rewind drops the tick's change, which the next tick redoes.)
* **replay** (warnings, tasks — several inputs write them, so order across inputs is not
  reproducible): a redelivered event finds the outputs it produced and sends them again;
  the state is not touched. Downstream is idempotent by id (task ids, alert ids, event ids).

Entries older than the partition's committed offset can never be redelivered and are pruned
on the next write of their key; beyond ``MAX_ENTRIES`` per key the oldest go too (counted).

Lean rewind: a partition's events are handled one after another and a commit covers every
event handled before it, so after a crash the first redelivered event that touches a key is
the key's first entry at or after the committed offset — or the entry of the event that was
in flight when the last commit was made, which is the newest entry. Only those entries' before-
values can ever be read, so the others are dropped (the entry stays, marking the write): per
partition, the first entry at or after the confirmed committed offset, the first at or after
a commit still in flight (``committing``), and the newest. A big value (a truck's geo state)
written many times between two commits is then stored at most four times, not 33.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import faust
from mode.utils.collections import LRUCache

Origin = tuple[str, int]  # ("topic:partition", offset)
Committed = Callable[[str], int | None]  # "topic:partition" → next offset to read, if known
_NO_BEFORE = {"~journal": "no before-value kept"}  # a lean entry (see the module docstring)

_WRAP = "~journal"
MAX_ENTRIES = 32
"""Per key. A busy key written many times between two commits would otherwise outgrow a Kafka
message (1 MB) — the worker would crash on its changelog. Beyond this, the oldest entries go
(``on_truncated``): a redelivery of those events is then at least once for this key."""


FRESH_KEYS = 8192
"""Keys remembered as written by their current event; far more than events in flight write."""


def current_origin() -> Origin | None:
    """The input message the calling agent is handling, if any (Faust's context variable)."""
    event = faust.current_event()
    if event is None:
        return None
    msg = event.message
    return f"{msg.topic}:{msg.partition}", msg.offset


class Mode(Enum):
    rewind = "rewind"
    replay = "replay"


class Seen(Enum):
    """What a journal knows of the current event for one key (replay mode)."""

    fresh = "fresh"  # not applied here yet: apply it
    stored = "stored"  # applied before a restart: send ``outputs`` again, change nothing
    passed = "passed"  # a later input of the same partition is applied and this one wrote
    # nothing here: nothing to apply, nothing to send


@dataclass(frozen=True)
class Replay:
    seen: Seen
    outputs: tuple[dict[str, str], ...] = ()


class Journal(MutableMapping[str, Any]):
    """A Faust table (or any mapping) whose values carry their uncommitted history."""

    def __init__(
        self,
        table: MutableMapping[str, Any],
        mode: Mode,
        committed: Committed,
        origin: Callable[[], Origin | None] = current_origin,
        on_redelivered: Callable[[Mode], None] | None = None,
        on_truncated: Callable[[int], None] | None = None,
        committing: Committed | None = None,
    ) -> None:
        self.table: Any = table  # the Faust table (its changelog, recovery, table routes)
        self.mode = mode
        self._committed = committed
        self._committing = committing or (lambda mark: None)  # offsets a commit is sending
        self._origin = origin
        self.on_redelivered = on_redelivered  # a metric: how often a restart was absorbed
        self.on_truncated = on_truncated  # a metric: entries dropped to stay under MAX_ENTRIES
        # keys written in this process by the event that wrote them last: a key the current
        # delivery already wrote reads as its new value, not as rewound or replayed. Only the
        # events in flight need it, so the most recent keys suffice (memory stays flat with
        # 100,000 enterprises in the tables)
        self._fresh: MutableMapping[str, Origin] = LRUCache(limit=FRESH_KEYS)

    # -- reading -------------------------------------------------------------------------
    def current(self, key: str) -> Any:
        """The latest value, whatever is being processed (API, timers' key scans)."""
        return value_of(self.table.get(key))

    def __getitem__(self, key: str) -> Any:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        value = self._read(key, self.table.get(key))
        return default if value is None else value

    def _read(self, key: str, raw: Any) -> Any:
        """What the current event reads from ``raw`` (the stored, journalled value of ``key``)."""
        value = value_of(raw)
        if self.mode is Mode.rewind and raw is not None:
            origin = self._origin()
            if origin is not None and self._fresh.get(key) != origin:
                entry = _first_at_or_after(_entries(raw), origin)
                if entry is not None and entry[2] == _NO_BEFORE:  # cannot happen (see above)
                    if self.on_truncated is not None:
                        self.on_truncated(1)
                elif entry is not None:
                    value = entry[2]
        return value

    def replay(self, key: str) -> Replay:
        """Replay mode: has the current event been applied to ``key`` before?"""
        origin = self._origin()
        raw = self.table.get(key)
        if origin is None or raw is None or self._fresh.get(key) == origin:
            return Replay(Seen.fresh)
        entry = _first_at_or_after(_entries(raw), origin)
        if entry is None:
            return Replay(Seen.fresh)
        if (entry[0], entry[1]) == origin:
            if self.on_redelivered is not None:
                self.on_redelivered(self.mode)
            return Replay(Seen.stored, tuple(entry[3] or ()))
        return Replay(Seen.passed)

    # -- writing -------------------------------------------------------------------------
    def __setitem__(self, key: str, value: Any) -> None:
        self.put(key, value)

    def put(self, key: str, value: Any, outputs: list[dict[str, str]] | None = None) -> None:
        """Store ``value``; in replay mode also the outputs the current event produced."""
        origin = self._origin()
        raw = self.table.get(key)
        if origin is None:  # outside an event (tests, tools): no history to keep
            self.table[key] = {_WRAP: [value, self._prune(_entries(raw))]}
            return
        entries = _entries(raw)
        fresh = self._fresh.get(key) == origin
        if fresh and entries and (entries[-1][0], entries[-1][1]) == origin:
            last = entries[-1]  # a second write by the same event: same before-value
            entries[-1] = [last[0], last[1], last[2], [*(last[3] or []), *(outputs or [])]]
        else:
            before = self._read(key, raw) if self.mode is Mode.rewind else None  # one decode
            kept = _before(entries, origin)
            if len(kept) < len(entries) and self.on_redelivered is not None:
                self.on_redelivered(self.mode)
            entries = kept
            entries.append([origin[0], origin[1], before, list(outputs or [])])
        self._fresh[key] = origin
        entries = self._prune(entries)
        if self.mode is Mode.rewind:
            entries = self._lean(entries)
        self.table[key] = {_WRAP: [value, entries]}

    def __delitem__(self, key: str) -> None:
        self._fresh.pop(key, None)
        del self.table[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.table.keys()))

    def __len__(self) -> int:
        return len(self.table)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def _prune(self, entries: list[list[Any]]) -> list[list[Any]]:
        """Drop entries of committed offsets (never redelivered), then the oldest beyond
        ``MAX_ENTRIES``."""
        kept = []
        for entry in entries:
            done = self._committed(entry[0])
            if done is None or entry[1] >= done:
                kept.append(entry)
        if len(kept) > MAX_ENTRIES:
            if self.on_truncated is not None:
                self.on_truncated(len(kept) - MAX_ENTRIES)
            kept = kept[-MAX_ENTRIES:]
        return kept

    def _lean(self, entries: list[list[Any]]) -> list[list[Any]]:
        """Drop the before-values no redelivery can read (module docstring, "Lean rewind")."""
        if len(entries) < 3:
            return entries
        needed: set[int] = set()
        for mark in {e[0] for e in entries}:
            mine = [i for i, e in enumerate(entries) if e[0] == mark]
            needed.add(mine[-1])
            for done in (self._committed(mark), self._committing(mark)):
                first = next((i for i in mine if done is None or entries[i][1] >= done), None)
                if first is not None:
                    needed.add(first)
        return [e if i in needed else [e[0], e[1], _NO_BEFORE, e[3]] for i, e in enumerate(entries)]

    def forget(self) -> None:
        """Partitions moved: the next delivery of any event is a redelivery."""
        self._fresh.clear()


def value_of(raw: Any) -> Any:
    """The value a journalled table entry holds (its journal dropped): what tools that read a
    changelog topic directly must use, so that the journal's format is known in one place.

    >>> value_of({"~journal": [{"uscc": "X"}, []]})
    {'uscc': 'X'}
    """
    if isinstance(raw, dict) and _WRAP in raw:
        return raw[_WRAP][0]
    return raw  # written before journalling existed, or by a test


def _entries(raw: Any) -> list[list[Any]]:
    if isinstance(raw, dict) and _WRAP in raw:
        return [list(e) for e in raw[_WRAP][1]]
    return []


def _first_at_or_after(entries: list[list[Any]], origin: Origin) -> list[Any] | None:
    mark, offset = origin
    for entry in entries:
        if entry[0] == mark and entry[1] >= offset:
            return entry
    return None


def _before(entries: list[list[Any]], origin: Origin) -> list[list[Any]]:
    """The entries before this event's first write: a redelivered event starts over there."""
    mark, offset = origin
    for i, entry in enumerate(entries):
        if entry[0] == mark and entry[1] >= offset:
            return entries[:i]
    return entries
