"""Per-unit model state held as objects while used and as packed bytes once cold (issue #16).

Why: the equipment and truck models keep a baseline per unit (an elevator, a plate; ~1.8 KB of
Python objects each: a few small dicts, River's quantile, three numpy arrays), in every
partition's copy, for every unit ever seen and for ever. At 100,000 distinct entities that was
the largest part of a worker's memory per entity. A unit's baseline is read and changed only
by its own readings, so the units not used lately can be kept as their zlib-compressed pickle
(~0.7 KB) and rebuilt, exactly, when a reading of theirs arrives: the same floats, the same
decisions (``tests/unit/models/test_unit_map.py`` compares a bounded and an unbounded model
reading for reading).

At most :data:`HOT_UNITS` units are objects; using one more packs the least recently used. A
pickle round trip of a unit costs ~0.1–0.4 ms, paid only when a cold unit's reading arrives, so
a fleet that reports in turn beyond the bound pays it per reading (CPU for memory; raise the
bound if that fleet is the workload). The bytes are only ever the pickle this map made of its
own object, or bytes of a unit segment whose signature verified (models/unit_records.py), so
no unverified wire data is unpickled here.

The map also remembers which units were used (so possibly changed) or deleted since the last
checkpoint took its changes (:meth:`UnitMap.take_changes`): a checkpoint writes those units in
its unit segments, not the model whole (issue #16; models/unit_ledger.py). A unit is written as
its packed bytes, the same ones the map keeps for a cold unit, so a restored unit starts cold
and is unpickled only when a reading of its own arrives.
"""

from __future__ import annotations

import pickle
import zlib
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

V = TypeVar("V")

HOT_UNITS = 128
"""Units kept as objects per model copy (per partition): ~0.4 MB of equipment or truck state.

Why so few: where units are many, most are read rarely (at 100,000 distinct entities nearly
every reading is a unit's first), so hot units beyond the recently used are memory for
nothing — 1,024 per copy, 8 copies in a worker, held ~23 MiB more at 20,000 entities, in
process (bench/RESULTS.md, 2026-12-06). The bench's skewed stream has ~20 units in all, so
none of its readings unpacks one."""


class UnitMap(MutableMapping[str, V], Generic[V]):
    """A dict of units whose least recently used entries beyond ``hot`` are packed bytes.

    Reading a unit (``[]``, ``get``, ``setdefault``) makes it hot and most recently used, so
    the object a caller holds stays the unit's state until ``hot`` other units are used;
    callers change a unit in place right after reading it (models/unit_anomaly.py).
    ``warm`` answers "has any unit ``seen`` at least n readings" without unpacking: the count
    of each packed unit is kept beside its bytes.
    """

    def __init__(self, hot: int | None = None) -> None:
        self.hot = max(HOT_UNITS if hot is None else hot, 2)
        self._hot: OrderedDict[str, V] = OrderedDict()
        self._cold: dict[str, tuple[bytes, int]] = {}
        self._zdict: bytes | None = None
        """The pickle of the first unit packed, zlib's preset dictionary for every unit packed
        after it (``b""``: none, for a map restored with units packed before it existed).
        Why: the units of one model pickle to the same class paths, feature names and array
        headers; against one of them as dictionary an equipment unit packs to ~200 bytes
        instead of ~740, a truck to ~310 instead of ~970 (2026-12-04, issue #16)."""
        self._changed: set[str] = set()
        """Units read or set since the last :meth:`take_changes` (callers change a unit in
        place right after reading it, so a read counts as a change)."""
        self._gone: set[str] = set()
        """Units deleted since the last :meth:`take_changes`: their records become tombstones."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A map from a snapshot: one taken before the preset dictionary packed without one,
        one taken before changes were tracked without its sets, and none keeps more units as
        objects than :data:`HOT_UNITS` (snapshots before 2026-12-06 carry 1,024)."""
        state["hot"] = min(state.get("hot", HOT_UNITS), HOT_UNITS)
        state.setdefault("_zdict", b"" if state.get("_cold") else None)
        state.setdefault("_changed", set())
        state.setdefault("_gone", set())
        self.__dict__.update(state)

    def __len__(self) -> int:
        return len(self._hot) + len(self._cold)

    def __iter__(self) -> Iterator[str]:
        return iter([*self._hot, *self._cold])

    def __contains__(self, key: object) -> bool:
        return key in self._hot or key in self._cold

    def __getitem__(self, key: str) -> V:
        value = self._hot.get(key)
        if value is not None:
            self._hot.move_to_end(key)
            self._changed.add(key)
            return value
        packed = self._cold.pop(key, None)
        if packed is None:
            raise KeyError(key)
        unit: V = pickle.loads(self._inflate(packed[0]))  # our own or verified bytes (module doc)
        self._put(key, unit)
        self._changed.add(key)
        return unit

    def __setitem__(self, key: str, value: V) -> None:
        self._cold.pop(key, None)
        self._put(key, value)
        self._changed.add(key)
        self._gone.discard(key)

    def __delitem__(self, key: str) -> None:
        if self._hot.pop(key, None) is None and self._cold.pop(key, None) is None:
            raise KeyError(key)
        self._changed.discard(key)
        self._gone.add(key)

    def _put(self, key: str, value: V) -> None:
        self._hot[key] = value
        self._hot.move_to_end(key)
        while len(self._hot) > self.hot:
            old, unit = self._hot.popitem(last=False)
            blob = self._deflate(pickle.dumps(unit, protocol=pickle.HIGHEST_PROTOCOL))
            self._cold[old] = (blob, int(getattr(unit, "seen", 0)))

    def _deflate(self, raw: bytes) -> bytes:
        if self._zdict is None:
            self._zdict = raw if not self._cold else b""
        if not self._zdict:
            return zlib.compress(raw, 1)
        packer = zlib.compressobj(1, zdict=self._zdict)
        return packer.compress(raw) + packer.flush()

    def _inflate(self, blob: bytes) -> bytes:
        if not self._zdict:
            return zlib.decompress(blob)
        unpacker = zlib.decompressobj(zdict=self._zdict)
        return unpacker.decompress(blob) + unpacker.flush()

    # -- the checkpoint's side (streams/model_state.py) ------------------------------------
    def packed_unit(self, key: str) -> tuple[bytes, int]:
        """Unit ``key`` as its packed bytes and readings seen, without making it cold."""
        cold = self._cold.get(key)
        if cold is not None:
            return cold
        unit = self._hot[key]
        raw = pickle.dumps(unit, protocol=pickle.HIGHEST_PROTOCOL)
        return self._deflate(raw), int(getattr(unit, "seen", 0))

    def take_changes(self, *, every: bool = False) -> tuple[dict[str, tuple[bytes, int]], set[str]]:
        """The units changed since the last call, packed, and those deleted; ``every``: all
        units (a checkpoint that writes the model whole). Forgets them: the next call returns
        only what changes after this one.

        >>> m = UnitMap[int](hot=2); m["a"], m["b"] = 1, 2; _ = m.take_changes(); m["a"] = 3
        >>> del m["b"]; changed, gone = m.take_changes(); sorted(changed), gone
        (['a'], {'b'})
        """
        keys = list(self) if every else [k for k in self._changed if k in self]
        changed = {k: self.packed_unit(k) for k in keys}
        gone = set() if every else self._gone
        self._changed, self._gone = set(), set()
        return changed, gone

    def put_packed(self, key: str, blob: bytes, seen: int) -> None:
        """Unit ``key`` from its packed bytes (a verified unit segment), kept cold; not a change."""
        self._hot.pop(key, None)
        self._cold[key] = (blob, seen)

    @contextmanager
    def detached(self) -> Iterator[None]:
        """The map empty for the span of the block (its units and changes put back after):
        the model around it is pickled without its units, which travel as their own records."""
        held = self._hot, self._cold, self._changed, self._gone
        self._hot, self._cold, self._changed, self._gone = OrderedDict(), {}, set(), set()
        try:
            yield
        finally:
            self._hot, self._cold, self._changed, self._gone = held

    @property
    def packed(self) -> int:
        """Units held as bytes now."""
        return len(self._cold)

    def warm(self, readings: int) -> bool:
        """True if any unit, hot or packed, has ``seen`` at least ``readings``."""
        return any(getattr(u, "seen", 0) >= readings for u in self._hot.values()) or any(
            seen >= readings for _, seen in self._cold.values()
        )

    @classmethod
    def of(cls, units: MutableMapping[str, Any]) -> UnitMap[Any]:
        """A map holding ``units`` (a plain dict from a snapshot taken before this existed)."""
        if isinstance(units, UnitMap):
            return units
        out: UnitMap[Any] = cls()
        for key, value in units.items():
            out[key] = value
        return out
