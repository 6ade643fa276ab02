"""Per-entity histories in recency order, whose changed entries a checkpoint writes on their own.

Why (issue #16): the inspection model keeps one small history per entity (USCC) in an ordered
dict, the oldest dropped past ``max_entities``. Pickled inside the model at every checkpoint of
its partition, that was O(entities) bytes and CPU per checkpoint; as a :class:`UnitHistory` it
remembers which entries were written or deleted since the last checkpoint took its changes
(:meth:`UnitHistory.take_changes`), and the checkpoint writes those in its unit segments
(models/unit_ledger.py), like the units of models/unit_map.py.

An entry counts as changed when it is set, taken with ``setdefault`` (callers change the dict
they get in place, models/inspections.py) or moved to the end; ``get`` only reads. A restored
history holds its entries in the order their records were last written, which is their order
here except among entries written by the same checkpoint; that order only decides which
entry is dropped first past ``max_entities`` (a million per partition by default).

>>> h = UnitHistory[dict]()
>>> h.setdefault("a", {})["n"] = 1
>>> h["b"] = {"n": 2}
>>> sorted(h.take_changes()[0])
['a', 'b']
>>> h.get("a"), h.take_changes()[0]
({'n': 1}, {})
>>> h.popitem(last=False), h.take_changes()[1]
(('a', {'n': 1}), {'a'})
"""

from __future__ import annotations

import pickle
import zlib
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class UnitHistory(MutableMapping[str, V], Generic[V]):
    """An ordered dict of entries that tracks the ones changed since :meth:`take_changes`."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, V] = OrderedDict()
        self._changed: set[str] = set()
        self._gone: set[str] = set()

    @classmethod
    def of(cls, items: MutableMapping[str, Any]) -> UnitHistory[Any]:
        """A history holding ``items`` in their order (an ordered dict of an older snapshot)."""
        if isinstance(items, UnitHistory):
            return items
        out: UnitHistory[Any] = cls()
        out._items = OrderedDict(items)
        return out

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __getitem__(self, key: str) -> V:
        return self._items[key]

    def get(self, key: str, default: Any = None) -> Any:
        """The entry, read only (not a change)."""
        return self._items.get(key, default)

    def __setitem__(self, key: str, value: V) -> None:
        self._items[key] = value
        self._changed.add(key)
        self._gone.discard(key)

    def setdefault(self, key: str, default: Any = None) -> Any:
        """The entry (made from ``default`` if missing), as changed: callers change it in place."""
        self._changed.add(key)
        self._gone.discard(key)
        return self._items.setdefault(key, default)

    def __delitem__(self, key: str) -> None:
        del self._items[key]
        self._changed.discard(key)
        self._gone.add(key)

    def move_to_end(self, key: str) -> None:
        """As :meth:`OrderedDict.move_to_end` (last)."""
        self._items.move_to_end(key)
        self._changed.add(key)

    def popitem(self, last: bool = True) -> tuple[str, V]:
        """As :meth:`OrderedDict.popitem`: ``last=False`` drops the oldest."""
        key, value = self._items.popitem(last=last)
        self._changed.discard(key)
        self._gone.add(key)
        return key, value

    # -- the checkpoint's side (streams/model_state.py), as models/unit_map.py's ----------
    def take_changes(self, *, every: bool = False) -> tuple[dict[str, tuple[bytes, int]], set[str]]:
        """The entries changed since the last call, packed, and those deleted; ``every``: all
        entries. Forgets them."""
        keys = list(self._items) if every else [k for k in self._changed if k in self._items]
        changed = {k: (_pack(self._items[k]), 0) for k in keys}
        gone = set() if every else self._gone
        self._changed, self._gone = set(), set()
        return changed, gone

    def put_packed(self, key: str, blob: bytes, seen: int) -> None:
        """Entry ``key`` from a verified unit segment's bytes, at the end; not a change."""
        self._items[key] = pickle.loads(zlib.decompress(blob))  # verified (models/unit_records.py)

    @contextmanager
    def detached(self) -> Iterator[None]:
        """The history empty for the span of the block (its entries put back after)."""
        held = self._items, self._changed, self._gone
        self._items, self._changed, self._gone = OrderedDict(), set(), set()
        try:
            yield
        finally:
            self._items, self._changed, self._gone = held


def _pack(value: Any) -> bytes:
    return zlib.compress(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), 1)
