"""The worker's state: one in-memory store per partition, changed one event at a time.

Why not Faust tables: a Faust table writes a changelog record on every ``set`` (20,000 input
events made 103,861 changelog records, 224 MB of them warnings) and knows nothing of the
offsets its values have absorbed, so crash safety needed a journal of before-values in every
value (the old ``streams/once.py``). Here a value is only marked *dirty* when it changes; the
checkpoint (streams/checkpoint.py) writes each dirty key once, with a marker naming the input
offsets the partition has absorbed, and the changelog is the store: a worker that takes a
partition reads it back from there (:mod:`streams.checkpoint`), so there is no local database
to fill a disk or to corrupt (the spill file of cold values, streams/spill.py, is a cache made
empty whenever a partition is taken: a full disk only keeps those values in memory).

Partition: state written while handling an event lives in the partition of that event (every
input topic is co-partitioned: partition *n* of every input writes partition *n* of the store,
as a Faust table's changelog does). Reads look at the event's partition first, then at the
other partitions this worker holds (an entity whose key is not its topic's key, until
re-keying routes it: see ARCHITECTURE.md).

One event is one unit (:class:`EventScope`): the first value each key had before the event is
kept while it runs, so an event that fails half-way is rolled back before it is dead-lettered
or retried, and its offset is absorbed only when it finished. Nothing here touches Kafka.

Memory: a value of the tables that grow with the entities (:data:`EVICTABLE`) is held decoded
while it is in use and as its changelog bytes (:class:`streams.packing.Cold`) once it has not
been used for a while (streams/hot.py: the most recently used up to a budget; the checkpoint
makes the rest cold). A value restored from the changelog stays bytes until first used. Reading
a cold value decodes a fresh copy and leaves the bytes in place; storing a value makes it
decoded again. Given a ``spill_dir``, the cold bytes go to a file per partition there
(streams/spill.py) and the table keeps :data:`~streams.spill.SPILLED` in their place, so what
stays in memory per cold value is its key.
"""

from __future__ import annotations

import contextvars
import sys
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from streams.hot import HotValues, TableSizes
from streams.packing import Cold
from streams.spill import SPILLED, SpillFile

if TYPE_CHECKING:
    from pathlib import Path

    from models.unit_ledger import UnitLedger
    from models.worker_models import WorkerModels

_MISSING: Any = object()
_NO_VALUES: Mapping[str, Any] = MappingProxyType({})
"""What a table no value was stored in yet holds (read only: never a dict made per look-up)."""
_M = TypeVar("_M", bound=BaseModel)

EVICTABLE = frozenset({"warnings", "profiles", "vehicles", "rule_state", "tasks"})
"""The tables whose values may go cold: those with a key per entity (or per rule and entity),
and the tasks (one per incident: a minimal case is 4.3 KB of objects decoded, and the bench
at 100,000 entities wrote ~48,000 task records; a wall tick reads a task's brief, not the task: streams/task_stage.py
``supervise``). The others stay decoded: ``dedup``, ``clocks`` and ``precision``, because they
are small and used by nearly every event."""

Watcher = Callable[[str, "str | None"], None]
"""Told ``(table, key)`` when a key's value changed (``key`` None: any key of the table may
have: a partition was taken or given away)."""


def plain(value: Any) -> Any:
    """A stored value in its JSON form (handlers store pydantic objects or plain values)."""
    dump = getattr(value, "model_dump", None)
    return value if dump is None else dump(mode="json")


@dataclass
class PartitionState:
    """One partition's tables, what changed since the last checkpoint, and how far it got."""

    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    dirty: set[tuple[str, str]] = field(default_factory=set)
    # what the dirty values weigh decoded, as JSON bytes by their tables' average (hot.TableSizes)
    dirty_weight: int = 0
    absorbed: dict[str, int] = field(default_factory=dict)  # "topic:partition" → next offset
    # The partition's own copy of the online models (streams/model_state.py): built on first
    # use from ``model_records`` (its signed snapshot records as of the last marker), written
    # at a checkpoint when ``models.changes`` moved past ``models_saved``.
    models: WorkerModels | None = None
    model_records: dict[bytes, bytes | None] = field(default_factory=dict)
    models_saved: int = -1
    model_touched: dict[str, int] = field(default_factory=dict)  # per model, as last written
    model_index: dict[str, int] = field(default_factory=dict)  # model → its chunks written
    models_rewrite: bool = False  # a torn checkpoint cut model records: write them back
    model_torn: set[bytes] = field(default_factory=set)  # the model records it cut
    # per model with unit maps: where its units are in the changelog (models/unit_ledger.py),
    # and the model object written so (another object, as after a publication: written whole)
    model_ledgers: dict[str, UnitLedger] = field(default_factory=dict)
    model_written: dict[str, object] = field(default_factory=dict)
    model_stale: list[bytes] = field(default_factory=list)  # unit segments to tombstone

    def table(self, name: str) -> dict[str, Any]:
        """The partition's table ``name``, made empty on first use: a table no event has written
        yet reads as empty, not as missing."""
        found = self.tables.get(name)
        if found is None:
            found = self.tables[name] = {}
        return found


@dataclass
class EventScope:
    """The event being handled: where it came from, the keys it changed (with the value
    each had before its first change) and the sink copies of its outputs, which the checkpoint
    stores once the event is absorbed (streams/sink_buffer.py)."""

    partition: int
    mark: str  # "topic:partition"
    offset: int
    befores: dict[tuple[str, str], Any] = field(default_factory=dict)
    sinks: list[Any] = field(default_factory=list)
    attempt: int = 1  # > 1 when the handler runs again (local storage was full)


_SCOPE: contextvars.ContextVar[EventScope | None] = contextvars.ContextVar(
    "riskloop_event_scope", default=None
)


def current_scope() -> EventScope | None:
    """The event the calling agent is handling (each agent is its own asyncio task)."""
    return _SCOPE.get()


def retrying() -> bool:
    """True while an event is handled again after a pause: counters of what came in must not
    count it twice."""
    scope = _SCOPE.get()
    return scope is not None and scope.attempt > 1


class Store:
    """Every partition this worker holds, by partition number.

    ``hot_bytes``: how much decoded value (counted as JSON bytes) the :data:`EVICTABLE` tables
    keep at a checkpoint (:meth:`evict`); None: all of it (tools and tests). ``spill_dir``:
    where the cold values' bytes go, a file per partition (streams/spill.py); None: they stay
    in memory."""

    def __init__(self, hot_bytes: int | None = None, spill_dir: Path | None = None) -> None:
        self.partitions: dict[int, PartitionState] = {}
        self.hot = HotValues(sys.maxsize if hot_bytes is None else hot_bytes)
        self.sizes = TableSizes()
        self._watchers: list[Watcher] = []
        self._spill_dir = spill_dir
        self.spills: dict[int, SpillFile] = {}
        self._unspilled: set[int] = set()  # held partitions whose spill file could not be made
        # the last spilled value read: a value decoded to be kept (TableView.decoded) is read by
        # get() and its bytes wanted again by keep(), one read apart
        self._last_read: tuple[int, str, str, Cold] | None = None

    def watch(self, watcher: Watcher) -> None:
        """Call ``watcher`` on every change of a value (streams/due.py keeps due times by it)."""
        self._watchers.append(watcher)

    def _changed(self, table: str, key: str | None) -> None:
        for watcher in self._watchers:
            watcher(table, key)

    # -- ownership -----------------------------------------------------------------------
    def hold(self, partition: int, state: PartitionState | None = None) -> PartitionState:
        """Take ``partition`` (restored from its changelog, or empty); with a spill dir, its
        cold values (all of a restored one's but the dirty) go to a new spill file."""
        state = self.partitions[partition] = state or PartitionState()
        self._close_spill(partition)
        if self._open_spill(partition) is not None:
            self._spill(partition, state, list(self._restored_cold(state)))
        self._moved(partition)
        return state

    def _open_spill(self, partition: int) -> SpillFile | None:
        """``partition``'s spill file, made now if it has none yet; None without a spill dir or
        when the file cannot be made (a full disk: its cold values stay in memory, and the next
        spill tries again — logged the first time only)."""
        spill = self.spills.get(partition)
        if spill is not None or self._spill_dir is None:
            return spill
        path = self._spill_dir / f"partition-{partition}.sqlite3"
        spill = SpillFile.open(path, quiet=partition in self._unspilled)
        if spill is None:
            self._unspilled.add(partition)
            return None
        self._unspilled.discard(partition)
        self.spills[partition] = spill
        return spill

    def release(self, partition: int) -> None:
        """Let ``partition`` go; its values leave the hot set, its spill file is deleted and
        watchers hear of the move."""
        self.partitions.pop(partition, None)
        self._close_spill(partition)
        self._moved(partition)

    def _close_spill(self, partition: int) -> None:
        self._unspilled.discard(partition)
        spill = self.spills.pop(partition, None)
        if spill is not None:
            spill.close()
        self._last_read = None

    def _moved(self, partition: int) -> None:
        self.hot.forget_partition(partition)
        for table in EVICTABLE:
            self._changed(table, None)

    def absorbed(self, mark: str, partition: int) -> int:
        """The next offset of input ``mark`` that partition ``partition`` has not absorbed."""
        state = self.partitions.get(partition)
        return -1 if state is None else state.absorbed.get(mark, -1)

    # -- events --------------------------------------------------------------------------
    def begin(self, partition: int, mark: str, offset: int) -> contextvars.Token[Any]:
        """Start handling one event: its writes are attributed to it from now on."""
        return _SCOPE.set(EventScope(partition, mark, offset))

    def finish(self, token: contextvars.Token[Any]) -> None:
        """The event is done: its changes stay and its offset is absorbed."""
        scope = _SCOPE.get()
        _SCOPE.reset(token)
        if scope is None:
            return
        state = self.partitions.get(scope.partition)
        if state is not None:
            state.absorbed[scope.mark] = max(state.absorbed.get(scope.mark, -1), scope.offset + 1)

    def undo(self) -> int:
        """Put back what the current event changed (it failed half-way) and forget its sink
        copies; how many keys."""
        scope = _SCOPE.get()
        if scope is None:
            return 0
        scope.sinks.clear()
        state = self.partitions.get(scope.partition)
        if state is not None:
            for (table, key), before in scope.befores.items():
                values = state.table(table)
                if before is _MISSING:
                    values.pop(key, None)
                else:
                    values[key] = before
                if table in EVICTABLE:  # still dirty: encoded again at the checkpoint
                    where = (scope.partition, table, key)
                    if before is _MISSING or before is SPILLED or isinstance(before, Cold):
                        self.hot.forget(where)
                    else:
                        self.hot.changed(where)
                self._changed(table, key)
        undone = len(scope.befores)
        scope.befores.clear()
        return undone

    def abandon(self, token: contextvars.Token[Any]) -> None:
        """Leave the event's scope without absorbing its offset (it will come again)."""
        _SCOPE.reset(token)

    # -- values --------------------------------------------------------------------------
    def _home(self) -> tuple[int | None, PartitionState | None]:
        scope = _SCOPE.get()
        if scope is None:
            return None, None
        return scope.partition, self.partitions.get(scope.partition)

    def get(self, table: str, key: str) -> Any:
        """The value of ``key``: the current event's partition first, then the others (a cold
        value decoded afresh: store it to change it)."""
        partition, state = self._locate(table, key)
        if state is None:
            return None
        value = state.tables[table][key]
        if value is SPILLED:
            return self._read_spilled(partition, table, key).value()
        if isinstance(value, Cold):
            return value.value()
        if table in EVICTABLE:
            self.hot.used((partition, table, key))
        return value

    def stored(self, partition: int, table: str, key: str) -> Any:
        """What ``partition`` holds for ``key`` as it is held (decoded, or the bytes of a cold
        value, read back when spilled); None if nothing (the checkpoint encodes it)."""
        state = self.partitions.get(partition)
        value = None if state is None else state.tables.get(table, _NO_VALUES).get(key)
        return self._read_spilled(partition, table, key) if value is SPILLED else value

    def _read_spilled(self, partition: int, table: str, key: str) -> Cold:
        last = self._last_read
        if last is not None and last[:3] == (partition, table, key):
            return last[3]
        cold = self.spills[partition].read(table, key)
        self._last_read = (partition, table, key, cold)
        return cold

    def has(self, table: str, key: str) -> bool:
        """Whether ``key`` holds a value (without decoding a cold one)."""
        partition, state = self._locate(table, key)
        return state is not None and state.tables[table][key] is not None

    def _locate(self, table: str, key: str) -> tuple[int, PartitionState | None]:
        # the event's partition first, then the others; asked several times an event, so
        # written without the temporary tuples, empty dicts and partition list it had
        scope = _SCOPE.get()
        partition = None if scope is None else scope.partition
        partitions = self.partitions
        if partition is not None:
            home = partitions.get(partition)
            if home is not None and key in home.tables.get(table, _NO_VALUES):
                return partition, home
        for p, state in partitions.items():  # nothing here awaits or changes the partitions
            if p != partition and key in state.tables.get(table, _NO_VALUES):
                return p, state
        return -1, None

    def put(self, table: str, key: str, value: Any) -> None:
        """Set ``key`` in the current event's partition (outside an event: where it lives)."""
        partition, state = self._writable(table, key)
        values = state.table(table)
        self._remember(table, key, values)
        values[key] = value
        if (table, key) not in state.dirty:
            state.dirty.add((table, key))
            state.dirty_weight += self.sizes.of(table)
        if table in EVICTABLE:
            self.hot.changed((partition, table, key))
        self._changed(table, key)

    def keep(self, table: str, key: str, value: Any) -> None:
        """Swap the object held for ``key`` where it lives, leaving it clean (same value,
        decoded): not a change, so no changelog record and nothing to undo."""
        partition, state = self._locate(table, key)
        if state is not None:
            old = state.tables[table][key]
            if old is SPILLED:
                old = self._read_spilled(partition, table, key)
            state.tables[table][key] = value
            if table in EVICTABLE:
                where = (partition, table, key)
                self.hot.used(where)
                if isinstance(old, Cold):  # the same value: its bytes are still its encoding
                    self.hot.encoded(where, old)

    def delete(self, table: str, key: str) -> None:
        """Remove ``key`` from the partition that holds it (a no-op when none does)."""
        for partition, state in self._holders(table, key):
            values = state.table(table)
            self._remember(table, key, values, state)
            values.pop(key, None)
            state.dirty.add((table, key))
            self.hot.forget((partition, table, key))
            self._changed(table, key)

    # -- memory --------------------------------------------------------------------------
    def encoded(self, partition: int, table: str, key: str, cold: Cold) -> None:
        """The checkpoint encoded this value as ``cold``: it may go cold as those bytes, and its
        size teaches what a changed value of its table weighs."""
        self.sizes.seen(table, cold.size)
        if table in EVICTABLE:
            self.hot.encoded((partition, table, key), cold)

    def dirty_weight(self) -> int:
        """What the values changed since the last checkpoint weigh decoded, over every partition
        held here (JSON bytes, each counted at its table's average: :class:`TableSizes`)."""
        return sum(state.dirty_weight for state in self.partitions.values())

    def evict(self) -> int:
        """Make the least recently used decoded values cold until the rest fit the budget;
        how many went cold. Only between events (the checkpoint calls it with none in
        flight): a handler never finds the object it holds replaced under it."""
        if _SCOPE.get() is not None:
            raise RuntimeError("values go cold only between events")
        cooled: dict[int, list[tuple[str, str, Cold]]] = {}
        for where, cold in self.hot.coldest():
            partition, table, key = where
            state = self.partitions.get(partition)
            values = state.tables.get(table, {}) if state is not None else {}
            if state is not None and (table, key) in state.dirty:
                continue  # changed since it was encoded: the checkpoint encodes it again
            value = values.get(key, SPILLED)
            if value is not SPILLED and not isinstance(value, Cold):
                values[key] = cold
                cooled.setdefault(partition, []).append((table, key, cold))
            self.hot.forget(where)
        for partition, rows in cooled.items():
            self._spill(partition, self.partitions[partition], rows)
        return sum(map(len, cooled.values()))

    def _spill(
        self, partition: int, state: PartitionState, rows: list[tuple[str, str, Cold]]
    ) -> None:
        """Move the cold values ``rows`` of ``partition`` to its spill file, if it has one (else,
        or if the file cannot take them, they stay in memory as bytes)."""
        if not rows:
            return
        spill = self._open_spill(partition)
        if spill is None or not spill.write(rows):
            return
        self._last_read = None  # a row it held may have been replaced
        for table, key, cold in rows:
            values = state.tables[table]
            if values.get(key) is cold:
                values[key] = SPILLED

    @staticmethod
    def _restored_cold(state: PartitionState) -> Iterator[tuple[str, str, Cold]]:
        """The cold values a partition came with that are not dirty (a torn key is written
        back from memory at the next checkpoint)."""
        for table, values in state.tables.items():
            if table in EVICTABLE:
                for key, value in values.items():
                    if (
                        isinstance(value, Cold)
                        and value is not SPILLED
                        and (table, key) not in state.dirty
                    ):
                        yield table, key, value

    def keys(self, table: str, partition: int | None = None) -> list[str]:
        """The keys of ``table`` in ``partition`` (default: the current event's; outside an
        event, every partition held here)."""
        if partition is None:
            partition, _ = self._home()
        if partition is None:
            return [k for s in list(self.partitions.values()) for k in s.tables.get(table, {})]
        state = self.partitions.get(partition)
        return list(state.tables.get(table, {})) if state is not None else []

    def size(self, table: str) -> int:
        """How many keys ``table`` holds over every partition here (tests check that an undone event left none)."""
        return sum(len(s.tables.get(table, {})) for s in self.partitions.values())

    def _writable(self, table: str, key: str) -> tuple[int, PartitionState]:
        partition, home = self._home()
        if home is not None and partition is not None:
            return partition, home
        holders = self._holders(table, key)
        if holders:
            return holders[0]
        if not self.partitions:  # tools and tests without a worker: one partition
            return 0, self.hold(0)
        first = min(self.partitions)
        return first, self.partitions[first]

    def _holders(self, table: str, key: str) -> list[tuple[int, PartitionState]]:
        return [(p, s) for p, s in self.partitions.items() if key in s.tables.get(table, {})]

    def _remember(
        self, table: str, key: str, values: dict[str, Any], state: PartitionState | None = None
    ) -> None:
        scope = _SCOPE.get()
        if scope is None or (table, key) in scope.befores:
            return
        if state is not None and self.partitions.get(scope.partition) is not state:
            return  # a delete in another partition (dedup expiry): not this event's to undo
        scope.befores[(table, key)] = values.get(key, _MISSING)


class TableView(MutableMapping[str, Any]):
    """One table of the store as a mapping, for the pure engines that take one (rule state,
    vehicles, dedup, clocks) and for the handlers."""

    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.name = name

    def __getitem__(self, key: str) -> Any:
        value = self.store.get(self.name, key)
        if value is None:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key``, or ``default``: one store lookup, not the mapping mixin's
        ``KeyError`` round trip."""
        value = self.store.get(self.name, key)
        return default if value is None else value

    def current(self, key: str) -> Any:
        """The latest value (kept for readers that say so)."""
        return self.store.get(self.name, key)

    def __setitem__(self, key: str, value: Any) -> None:
        self.store.put(self.name, key, value)

    def __delitem__(self, key: str) -> None:
        self.store.delete(self.name, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.store.keys(self.name))

    def __len__(self) -> int:
        return len(self.store.keys(self.name))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.store.has(self.name, key)

    def decoded(self, key: str, model: type[_M], *, keep: bool = True) -> _M | None:
        """The value of ``key`` as ``model``: a value read back from the changelog is JSON
        until first used; it is decoded once and kept decoded, without marking it changed
        (same value: no changelog record, nothing to undo). ``keep=False``: a value not held
        decoded is decoded for the caller alone and the store keeps what it held (a tick
        that reads every value once for a summary must not make them all hot at once)."""
        raw = self.store.get(self.name, key)
        if raw is None or isinstance(raw, model):
            return raw
        value = model.model_validate(raw)
        if keep:
            self.store.keep(self.name, key, value)
        return value

    def in_partition(self, partition: int) -> list[str]:
        """The keys held in ``partition`` (what that partition's tick looks after)."""
        return self.store.keys(self.name, partition)
