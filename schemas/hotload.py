"""One registry for everything a worker hot-loads: the active version per name, and what came before.

Rule packs, models, fence sets and silences are each published to a compacted control topic and
swapped in by name while the worker runs. They share one shape, so they share this one class:
the active items are one immutable mapping, and activating, rolling back or removing replaces
that reference. A reader holding ``registry.active`` (or one item of it) never sees half a
change, and agents, being coroutines on one event loop, see a swap only between two events.

What differs per kind stays with the kind: which checks refuse a version (``rules.pack_registry``,
``models.worker_models``), what a swap leaves to clean up (``streams.control``). This class only
decides what is active and what a rollback brings back. It is pure (no Kafka, no I/O), so the
CLI and the tests use it without a broker.

>>> reg = Registry(version=str.upper, keep=2)
>>> reg.activate("pack", "v1"), reg.activate("pack", "v2")
(None, 'v1')
>>> reg["pack"], reg.status(), reg.history("pack")
('v2', {'pack': 'V2'}, ['v1'])
>>> reg.rollback("pack"), reg.history("pack"), reg.rollback("pack")
('v1', [], None)
"""

from __future__ import annotations

import types
from collections.abc import Callable, ItemsView, Iterator, Mapping, ValuesView
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")
D = TypeVar("D")


class Registry(Mapping[str, T], Generic[T]):
    """Name → active item (read it like a mapping), plus up to ``keep`` earlier items per name.

    ``version`` tells an item's version for :meth:`status`. ``keep=0`` keeps no history: a
    kind whose rollback is a republish of the older version (fence sets) or that has none
    (silences) does not pay the memory of items nobody will bring back.
    """

    def __init__(self, version: Callable[[T], str], keep: int = 10) -> None:
        self._version = version
        self.keep = keep
        self._active: Mapping[str, T] = types.MappingProxyType({})
        self._history: dict[str, list[T]] = {}

    def __getitem__(self, name: str) -> T:
        return self._active[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._active)

    def __len__(self) -> int:
        return len(self._active)

    def __contains__(self, name: object) -> bool:
        return name in self._active

    @overload
    def get(self, name: str, /) -> T | None: ...
    @overload
    def get(self, name: str, /, default: T | D) -> T | D: ...
    def get(self, name: str, /, default: object = None) -> object:
        """The active item of ``name`` (read on every event: the mapping's own, not the mixin's)."""
        return self._active.get(name, default)

    def items(self) -> ItemsView[str, T]:
        """Name and active item (read on every truck fix: the mapping's own view)."""
        return self._active.items()

    def values(self) -> ValuesView[T]:
        """The active items (the mapping's own view)."""
        return self._active.values()

    def __getstate__(self) -> dict[str, object]:
        """Picklable (a worker copies its model set per partition): the read-only view is
        not, so the state holds a plain dict, wrapped again on load."""
        return {**self.__dict__, "_active": dict(self._active)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._active = types.MappingProxyType(state["_active"])

    def __repr__(self) -> str:
        return f"Registry({self.status()!r})"

    @property
    def active(self) -> Mapping[str, T]:
        """A read-only snapshot: name → active item; later swaps do not change it."""
        return self._active

    def history(self, name: str) -> list[T]:
        """Earlier items of ``name`` that a rollback can bring back, oldest first."""
        return list(self._history.get(name, []))

    def previous(self, name: str) -> T | None:
        """The item a :meth:`rollback` of ``name`` would bring back, if any."""
        earlier = self._history.get(name)
        return earlier[-1] if earlier else None

    def activate(self, name: str, item: T) -> T | None:
        """Make ``item`` the active one of ``name``; returns the item it replaced (kept for a
        rollback). A name already active keeps its place in iteration order."""
        current = self._active.get(name)
        if current is not None and self.keep:
            self._history[name] = [*self._history.get(name, []), current][-self.keep :]
        self._active = types.MappingProxyType({**self._active, name: item})
        return current

    def rollback(self, name: str, to: T | None = None) -> T | None:
        """Bring back the item before the active one (or ``to`` in its place: the same version
        restamped by the caller); the active one is dropped, not kept. ``None``: there is
        nothing to roll back to, and nothing changed."""
        earlier = self._history.get(name)
        if name not in self._active or not earlier:
            return None
        target = earlier[-1] if to is None else to
        self._history[name] = earlier[:-1]
        self._active = types.MappingProxyType({**self._active, name: target})
        return target

    def remove(self, name: str) -> T | None:
        """Deactivate ``name`` (its history stays for a later activation); returns the item
        that was active, or ``None``. A name activated again afterwards goes to the end."""
        current = self._active.get(name)
        if current is not None:
            self._active = types.MappingProxyType(
                {k: v for k, v in self._active.items() if k != name}
            )
        return current

    def status(self) -> dict[str, str]:
        """Name → version of every active item: what a worker announces on control.status."""
        return {name: self._version(item) for name, item in self._active.items()}
