"""The online models as partition state: one copy per partition, written at its checkpoint.

Why: models shared by a worker's partitions learnt in whatever order Kafka interleaved those
partitions (a model warning was not reproducible run to run), and they lived outside the
checkpoint: after a SIGKILL the events redone since the last commit were learnt a second time
(~280 anomalous readings learnt twice once made a warm model stop alerting) and what was learnt
since the last SQL snapshot was lost.

Now partition *n* has its own :class:`~models.worker_models.WorkerModels`, which learns only from
the events of partition *n* (of every input topic, in the order that partition absorbed them)
and is part of that partition's state (``PartitionState.models``). The order, with
streams/checkpoint.py:

1. **Learn.** An event handled on partition *n* is scored by, and teaches, partition *n*'s
   models (a disposition's label teaches the models of the partition that owns its entity).
2. **Checkpoint.** With the gate closed (step 2 of streams/checkpoint.py), every model of a
   partition whose models changed since its last checkpoint is pickled and signed
   (models/snapshot.py, HMAC under the snapshot key) *with the partition's absorbed offsets*,
   cut into chunks of at most :data:`CHUNK` bytes (under Kafka's 1 MB message limit) and
   written to the partition's changelog as ``~model/<name>/<i>``, then an index ``~models``
   naming the chunks, then the partition's other dirty keys and its marker. The models and
   the offsets are thus committed together, by the same marker.
3. **Restore.** A partition taken over (after a SIGKILL, a rebalance) gets its models back
   from the records at its last marker, on first use: the shipped defaults are built, each
   snapshot is verified (a chunk missing, a signature that does not verify, another factory or
   state version: logged, that model starts fresh — never unpickled unsigned) and restored,
   then every publication the control plane applied in this worker is applied again in order
   (:meth:`WorkerModels.add` refuses those the snapshot already holds). The events after the
   marker are redelivered and learnt once, by normal processing: nothing learnt is lost,
   nothing learnt twice, so no catch-up pass over the input is needed.

Cost (measured 2026-12-02 on the 2-core dev machine, see README "When a worker dies"): the four
models of one partition pickle in about 2 ms and 36 KB after 2,000 events of 60 entities;
with 10,000 distinct entities about 50 ms and 1 MB per partition. Only partitions whose models
changed are written, so a partition idle since its last checkpoint costs nothing.

Hot-loading stays per worker: a publication is checked once on :attr:`PartitionModels.loose`
(the template; what ``/status`` reports), and only one it accepts reaches the partitions' copies.
"""

from __future__ import annotations

import contextlib
import pickle
import zlib
from typing import TYPE_CHECKING, Any

import orjson

from models.errors import PublicationRejected
from models.worker_models import WorkerModels, build_models
from streams.checkpoint import inflate
from streams.logs import get_logger
from streams.state import PartitionState, Store, current_scope

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from config.settings import Settings
    from models.drift import DriftEvent
    from models.publication import ModelPublication, ModelRegistry
    from schemas.scores import ModelScore

log = get_logger(__name__)

CHUNK = 512 * 1024
"""Largest model record: Kafka refuses messages over ~1 MB by default (broker and producer)."""
INDEX = b"~models"
PACKED = b"RLZ1\n"
"""A model record's snapshot compressed (zlib, level 1) before it is cut into chunks.

Why: the models were most of what the worker wrote. A partition's four models after 1,500
events of the bench's stream pickle to ~215 KB (the complaint classifier's token counts
~197 KB), written at every checkpoint of a partition whose models learnt, and in a bench on a
loaded machine (one checkpoint a second) that was 157 MB of state changelog for 4.4 MB of
input. zlib level 1 makes them ~4.3× smaller for ~1 ms per partition per checkpoint.
Records written before it (starting with the snapshot's own magic) are read as they are."""
MAX_UNPACKED = 256 * 1024 * 1024
"""A packed snapshot that would inflate beyond this is refused (the model starts fresh):
whoever can write the changelog must not make a worker allocate without bound."""


def pack(blob: bytes) -> bytes:
    """>>> unpack(pack(b"RLSNAP2 abc")) == b"RLSNAP2 abc"
    True
    """
    return PACKED + zlib.compress(blob, 1)


def unpack(data: bytes) -> bytes:
    """A snapshot as :func:`pack` stored it (or as it was stored before packing existed).
    Raises ``ValueError`` on bytes that do not inflate, or inflate too far."""
    if not data.startswith(PACKED):
        return data
    return inflate(data[len(PACKED) :], MAX_UNPACKED, "packed model snapshot")


def _chunk_key(name: str, index: int) -> bytes:
    return f"~model/{name}/{index}".encode()


def snapshot_records(
    models: WorkerModels,
    offsets: Mapping[str, int],
    *,
    key: bytes,
    names: Iterable[str] | None = None,
    index: Mapping[str, int] | None = None,
) -> list[tuple[bytes, bytes | None]]:
    """Every live model (or only those of ``names``) as signed snapshot chunks tied to
    ``offsets``, then the index: ``index`` (the chunk counts as last written) updated with
    the models written now, so a model not written keeps the chunks it has in the changelog.

    >>> from config.settings import Settings
    >>> recs = snapshot_records(build_models(Settings(_env_file=None)), {"t:0": 3}, key=b"k" * 32)
    >>> recs[-1][0], orjson.loads(recs[-1][1])["equipment-anomaly"]
    (b'~models', 1)
    """
    out: list[tuple[bytes, bytes | None]] = []
    counts = dict(index or {})
    for name, whole in models.snapshot(offsets, key=key, names=names).items():
        blob = pack(whole)
        pieces = [blob[i : i + CHUNK] for i in range(0, len(blob), CHUNK)] or [b""]
        counts[name] = len(pieces)
        out.extend((_chunk_key(name, i), piece) for i, piece in enumerate(pieces))
    out.append((INDEX, orjson.dumps(counts)))
    return out


def read_index(records: Mapping[bytes, bytes | None]) -> dict[str, int]:
    """Model name → chunk count, from a partition's index record ({} when it is missing or
    unreadable: the models then start fresh, and the next checkpoint writes them all).

    >>> read_index({INDEX: b'{"m": 2}'}), read_index({INDEX: b"["})
    ({'m': 2}, {})
    """
    raw = records.get(INDEX)
    if not raw:
        return {}
    try:
        return {str(k): int(v) for k, v in orjson.loads(raw).items()}
    except (ValueError, TypeError, AttributeError):
        return {}


def snapshot_blobs(records: Mapping[bytes, bytes | None]) -> dict[str, bytes]:
    """Model name → its whole snapshot, from a partition's model records (the chunks the index
    names; a model with a chunk missing is left out and logged: it starts fresh).

    >>> snapshot_blobs({b"~model/m/0": b"ab", b"~model/m/1": b"c", b"~models": b'{"m": 2}'})
    {'m': b'abc'}
    """
    index = read_index(records)
    if not index:
        if records.get(INDEX):
            log.warning(
                "model index unreadable; the models start fresh",
                index=(records[INDEX] or b"")[:80].hex(),
            )
        return {}
    out: dict[str, bytes] = {}
    for name, count in index.items():
        pieces = [records.get(_chunk_key(name, i)) for i in range(count)]
        if any(p is None for p in pieces):
            log.warning("model snapshot incomplete; that model starts fresh", model=name)
            continue
        try:
            out[name] = unpack(b"".join(p for p in pieces if p is not None))
        except ValueError as exc:
            log.warning(
                "model snapshot unreadable; that model starts fresh", model=name, error=str(exc)
            )
    return out


class PartitionModels:
    """``Runtime.models`` in a worker: the models of the partition the current event is on.

    Outside an event (the control plane, tools, tests without a store) calls go to
    :attr:`loose`, the template every partition's copy is built from.
    """

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store
        self.loose = build_models(settings)
        # The shipped defaults as built, pickled once: a partition's copy is unpickled from it
        # (~13 ms) instead of built again (~0.4 s each on the 2-core machine, most of it the
        # complaint classifier learning its taxonomy priors), which held the first events of
        # every partition — and so the first commit — for seconds. Our own bytes, made here:
        # not wire data.
        self.template = pickle.dumps(self.loose, protocol=pickle.HIGHEST_PROTOCOL)
        self.applied: list[ModelPublication] = []  # accepted by the control plane, in order
        self._key: bytes | None = None

    @property
    def key(self) -> bytes:
        """The snapshot key (streams/snapshots.py), read when first needed."""
        if self._key is None:
            from streams.snapshots import snapshot_key

            self._key = snapshot_key(self.settings)
        return self._key

    @property
    def registry(self) -> ModelRegistry:
        """The template's model registry: the models this worker has and their versions, which
        every partition's copy follows."""
        return self.loose.registry

    # -- hot-loading ---------------------------------------------------------------------
    def add(self, pub: ModelPublication) -> None:
        """Check ``pub`` once on the template (raises :class:`PublicationRejected`), then apply
        it to every partition's models built so far; later ones get it when built."""
        self.loose.add(pub)
        self.applied.append(pub)
        for partition, models in self._built():
            try:
                models.add(pub)
            except PublicationRejected as exc:  # e.g. older than that partition's snapshot
                log.info(
                    "publication not applied to a partition",
                    partition=partition,
                    model=pub.name,
                    reason=str(exc),
                )

    def versions(self) -> dict[str, str]:
        """Model → active version as the control plane applied it (alike on every partition)."""
        return self.loose.versions()

    # -- events --------------------------------------------------------------------------
    def process(self, source: str, record: Any, *, learn: bool = True) -> Iterator[ModelScore]:
        """Score ``record`` with the current partition's models (and teach them unless ``learn``
        is off): what a model learns stays on the partition that saw the event."""
        return self._here().process(source, record, learn=learn)

    def learn_label(self, name: str, features: dict[str, float], confirmed: bool) -> None:
        """Teach a disposition's label to the current partition's model ``name``."""
        self._here().learn_label(name, features, confirmed)

    def learn_example(self, name: str, record: Any) -> bool:
        """Teach a corrected example to the current partition's model ``name``; False if it is not
        live there."""
        return self._here().learn_example(name, record)

    def observe_disposition(self, name: str, confirmed: bool) -> DriftEvent | None:
        """Feed a disposition to the drift watch of the current partition's model ``name``."""
        return self._here().observe_disposition(name, confirmed)

    def pop_drift_events(self) -> list[DriftEvent]:
        """Drift events since the last call, of the template and of every partition built here: a
        demotion on any partition is reported."""
        events = self.loose.pop_drift_events()
        for _, models in self._built():
            events.extend(models.pop_drift_events())
        return events

    def shadow_stats(self, name: str) -> dict[str, Any]:
        """The shadow candidate's counts on this event's partition (the template's outside one)."""
        return self._here().shadow_stats(name)

    def _here(self) -> WorkerModels:
        scope = current_scope()
        if scope is None or self.store is None:
            return self.loose
        state = self.store.partitions.get(scope.partition)
        if state is None:
            return self.loose
        if state.models is None:
            state.models = self.build(state)
        return state.models

    def _built(self) -> list[tuple[int, WorkerModels]]:
        """Each partition's models built so far, with the partition."""
        if self.store is None:
            return []
        return [
            (p, s.models) for p, s in list(self.store.partitions.items()) if s.models is not None
        ]

    # -- the checkpoint ------------------------------------------------------------------
    def build(self, state: PartitionState) -> WorkerModels:
        """A partition's models as of its last marker (step 3 of the module docstring)."""
        models: WorkerModels = pickle.loads(self.template)  # our own bytes (above)
        blobs = snapshot_blobs(state.model_records)
        for name, blob in blobs.items():
            header = models.restore(name, blob, key=self.key)
            if header is not None:
                log.info(
                    "model restored", model=name, version=header.version, offsets=header.offsets
                )
        for pub in self.applied:  # those in the snapshot already are refused
            with contextlib.suppress(PublicationRejected):
                models.add(pub)
        if not state.models_rewrite:
            state.models_saved = models.changes
            state.model_touched = dict(models.touched)
            # the chunks in the changelog of the models restored; a model whose snapshot was
            # refused starts fresh, and is written whole at the next checkpoint
            index = read_index(state.model_records)
            state.model_index = {n: c for n, c in index.items() if n in blobs}
            for name in set(models.registry.names()) - set(state.model_index):
                state.model_touched[name] = -1
        return models

    def records(self, state: PartitionState) -> list[tuple[bytes, bytes | None]]:
        """The model records a checkpoint writes for ``state`` (called with the gate closed,
        so the models and ``state.absorbed`` agree): the models that changed since the last
        checkpoint (each model's chunks are its own keys: one not written keeps its record
        from the checkpoint that last wrote it, which is its state now), then the index;
        the marker-time ones again after a torn checkpoint; else none.

        Why not all four whenever one changed: the complaint classifier is ~90 % of a
        partition's model bytes and changes only when the partition sees a complaint."""
        models = state.models
        if models is not None and models.changes != state.models_saved:
            names = None  # all: after a failed write or a torn checkpoint
            if state.models_saved != -1:
                names = [n for n, c in models.touched.items() if c != state.model_touched.get(n)]
            state.models_saved = models.changes
            state.models_rewrite = False
            state.model_touched = dict(models.touched)
            records = snapshot_records(
                models,
                state.absorbed,
                key=self.key,
                names=names,
                index=state.model_index if names is not None else None,
            )
            state.model_index = orjson.loads(records[-1][1] or b"{}")
            return records
        if state.models_rewrite:
            state.models_rewrite = False
            return sorted(state.model_records.items())
        return []
