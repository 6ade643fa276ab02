"""The dedup ids in buckets: one changelog record per bucket per checkpoint, not one per event.

Why: the dedup window (schemas/dedup.py) remembers every event id it accepted. Stored one key
per id, each event made one state-changelog record of its own at the next checkpoint — a third
of everything the pipeline produced (bench/RESULTS.md, 2026-12-02). Here ids are kept in
*buckets*: the ids a partition accepts go into that partition's open bucket (a plain
``{id: event time}`` dict stored under one key of the ``dedup`` table) until it holds
:data:`BUCKET_SIZE` ids; then the next id opens a new bucket. A checkpoint writes each bucket
that changed once, so a checkpoint of 100 events writes about one dedup record per partition.

Crash safety is the store's (streams/state.py): a bucket is replaced, never changed in place, so
an event that fails is undone with its bucket; a bucket is written with its partition's absorbed
offsets, so a redelivered event meets exactly the ids its first pass had stored.

Lookups go through an in-memory index ``id → bucket key``, built from the buckets of every
partition the worker takes (after a restore or a rebalance) and kept up as ids are added. The
index is only a hint: every hit is checked against the bucket itself, so an index entry left
behind by an undone event, a dropped partition or an expired id answers "not seen".
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

from streams.state import Store, current_scope

BUCKET_SIZE = 64
"""Ids per bucket: small enough that rewriting an open bucket at each checkpoint costs little
(≈ 50 bytes an id), large enough that a checkpoint writes one or two buckets per partition."""

TABLE = "dedup"


class BucketedIds(MutableMapping[str, float]):
    """``id → event time`` over buckets in the ``dedup`` table of ``store`` (the mapping
    :class:`~schemas.dedup.DedupWindow` expects).

    Deleting an id (expiry) only forgets it here; its bucket is deleted once no id of it is
    left: a bucket is never rewritten by a timer, which may run in another partition's scope.
    """

    def __init__(self, store: Store, table: str = TABLE, bucket_size: int = BUCKET_SIZE) -> None:
        self._store = store
        self._table = table
        self._size = max(1, bucket_size)
        self._index: dict[str, str] = {}  # id → the bucket that holds it
        self._live: dict[str, int] = {}  # bucket → how many index entries point to it
        self._indexed: dict[int, int] = {}  # partition → id() of the state object indexed
        self._open: dict[int, str] = {}  # partition → key of the bucket it fills

    # -- the index -------------------------------------------------------------------------
    def _sync(self) -> None:
        """Index the buckets of partitions taken since the last call (a restore, a rebalance)."""
        partitions = self._store.partitions
        if len(partitions) == len(self._indexed) and all(
            self._indexed.get(p) == id(s) for p, s in partitions.items()
        ):
            return
        for p in [p for p in self._indexed if p not in partitions]:
            del self._indexed[p]
            self._open.pop(p, None)
        for p, state in list(partitions.items()):
            if self._indexed.get(p) == id(state):
                continue
            self._indexed[p] = id(state)
            self._open.pop(p, None)  # a restored partition starts a fresh bucket
            for key, ids in list(state.tables.get(self._table, {}).items()):
                for event_id in ids:
                    self._point(event_id, key)

    def _point(self, event_id: str, key: str | None) -> None:
        """Make the index say ``event_id`` is in ``key`` (None: nowhere); a bucket no entry
        points to any more is deleted (wherever it lives)."""
        old = self._index.pop(event_id, None)
        if key is not None:
            self._index[event_id] = key
            self._live[key] = self._live.get(key, 0) + 1
        if old is None:
            return
        left = self._live.get(old, 0) - 1
        if left > 0:
            self._live[old] = left
            return
        self._live.pop(old, None)
        if self._store.get(self._table, old) is not None:
            self._store.delete(self._table, old)

    def _bucket(self, key: str) -> dict[str, float]:
        found = self._store.get(self._table, key)
        return found if isinstance(found, dict) else {}

    def _find(self, event_id: str) -> float | None:
        key = self._index.get(event_id)
        if key is None:
            return None
        found = self._bucket(key).get(event_id)
        return None if found is None else float(found)

    # -- the mapping -----------------------------------------------------------------------
    def __getitem__(self, event_id: str) -> float:
        self._sync()
        found = self._find(event_id)
        if found is None:
            raise KeyError(event_id)
        return found

    def __setitem__(self, event_id: str, when: float) -> None:
        self._sync()
        scope = current_scope()
        partition = scope.partition if scope is not None else min(self._store.partitions, default=0)
        key = self._open.get(partition)
        bucket = self._bucket(key) if key is not None else {}
        if key is None or (len(bucket) >= self._size and event_id not in bucket):
            where = f"{scope.mark}@{scope.offset}" if scope is not None else "loose"
            key, bucket = f"{partition}|{where}", {}
            while self._store.get(self._table, key) is not None:  # a second bucket at one offset
                key += "+"
            self._open[partition] = key
        self._store.put(self._table, key, {**bucket, event_id: when})  # replaced: undo-able
        if self._index.get(event_id) != key:
            self._point(event_id, key)

    def __delitem__(self, event_id: str) -> None:
        self._sync()
        if self._find(event_id) is None:
            raise KeyError(event_id)
        self._point(event_id, None)

    def __iter__(self) -> Iterator[str]:
        self._sync()
        return iter([i for i in list(self._index) if self._find(i) is not None])

    def __len__(self) -> int:
        return sum(1 for _ in self)
