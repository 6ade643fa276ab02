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
   partition whose models changed since its last checkpoint is written *with the partition's
   absorbed offsets*. A model with per-unit state (the equipment and truck units,
   models/unit_map.py; the inspection histories, models/unit_history.py) keeps its units as
   models/unit_ledger.py lays them out: the units used since the last seal as a signed *head*
   segment carried in its global record, older ones in a few sealed segments
   ``~model/<name>/s/<seq>`` written once (models/unit_records.py); its *global* snapshot is
   the model pickled without its units (models/snapshot.py, HMAC under the snapshot key),
   naming the *epoch* its segments belong to. So a checkpoint writes one record per model
   however many units it used, plus a segment when the head fills. A model not written in
   this partition before (a new publication, a rollback, a fresh start), after a failed or
   torn write, or whose sealed segments are mostly stale, is written whole: every unit under
   a new epoch, the old segments tombstoned. A model without units (the complaint
   classifier) is its whole snapshot. Global snapshots are compressed and cut into chunks of
   at most :data:`CHUNK` bytes (under Kafka's 1 MB message limit) and written as
   ``~model/<name>/<i>``, then an index ``~models`` naming the chunks, then the partition's
   other dirty keys and its marker. The models and the offsets are thus committed together, by the same marker; the
   changelog is compacted by key, and a segment is only ever replaced by its tombstone once
   no head names it.
3. **Restore.** A partition taken over (after a SIGKILL, a rebalance) gets its models back
   from the records at its last marker, on first use: the shipped defaults are built, each
   snapshot is verified (a chunk missing, a signature that does not verify, another factory or
   state version: logged, that model starts fresh — never unpickled unsigned) and restored,
   its head and every segment the head names verified (MAC, model, epoch, sequence, unit
   count) and their units put into its maps as their packed bytes, the newest entry of each
   (a segment missing or that does not verify: logged, that model starts fresh, never with
   half its units; segments no head names get tombstones; a unit is unpickled only when a
   reading of its own arrives), then every publication the control plane applied in this
   worker is applied again in order (:meth:`WorkerModels.add` refuses those the snapshot already holds). The events after the
   marker are redelivered and learnt once, by normal processing: nothing learnt is lost,
   nothing learnt twice, so no catch-up pass over the input is needed.

Cost. Before unit records (measured 2026-12-02 on the 2-core dev machine), a model that learnt
was pickled whole, all its units: the four models of one partition after 20,000 events of
10,000 distinct entities ~1 MB and 90–190 ms per checkpoint, and in process with 100,000
distinct entities (``bench/memory_curve.py``, 2026-12-04) the CPU per event grew from 3.8 ms
(first 10,000 events) to 10.4 ms (40,000–50,000), the models 2.5 MB of changelog per
checkpoint by then. Now a checkpoint's model bytes follow the units that changed (the head,
the segments sealed, compaction's share), not the units held: README "When a worker dies" has
the figures. Only partitions whose models changed are written, so a partition idle since its
last checkpoint costs nothing.

An older whole snapshot (no epoch in its header, every snapshot written before unit records)
still restores, units included; that model's next write is whole, under an epoch. A global
snapshot of the per-unit record layout (an epoch, no head; main between c1da57b and f4d5b5a)
is refused, logged, and that model starts fresh; its ``~model/<name>/u/…`` records get
tombstones. A worker of the release before refuses a global snapshot (its header has a field
it does not know) and starts that model fresh: a downgrade loses warm-up, never mixes a model
without its units.

Hot-loading stays per worker: a publication is checked once on :attr:`PartitionModels.loose`
(the template; what ``/status`` reports), and only one it accepts reaches the partitions' copies.
"""

from __future__ import annotations

import contextlib
import pickle
import zlib
from typing import TYPE_CHECKING, Any

import orjson

from models import snapshot
from models.errors import CorruptSnapshot, ModelError, PublicationRejected
from models.unit_ledger import UnitLedger
from models.unit_records import HEAD, open_segment, seal, take_global, unit_maps
from models.worker_models import WorkerModels, build_models
from streams.checkpoint import inflate
from streams.logs import get_logger
from streams.state import PartitionState, Store, current_scope

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from datetime import datetime

    from config.settings import Settings
    from models.drift import DriftEvent
    from models.publication import ModelPublication, ModelRegistry
    from models.snapshot import SnapshotHeader
    from models.unit_records import Entry
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
    """A snapshot zlib'd (level 1) behind the :data:`PACKED` magic.

    >>> unpack(pack(b"RLSNAP2 abc")) == b"RLSNAP2 abc"
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


SEGMENTS = "/s/"
"""What sets a sealed unit segment's key apart from a global snapshot chunk's."""
LEGACY_UNITS = "/u/"
"""Per-unit records (``~model/<name>/u/<map>/<unit>``) of the layout before segments: read by
no release since, tombstoned when found."""
HEADED = b"RLHEAD1\n"
"""A global snapshot followed by its model's head segment (models/unit_ledger.py)."""


def segment_key(name: str, seq: int) -> bytes:
    """``~model/<model>/s/<seq>``: one sealed segment of a model's units.

    >>> segment_key("truck-behaviour", 3)
    b'~model/truck-behaviour/s/3'
    """
    return f"~model/{name}{SEGMENTS}{seq}".encode()


def split_unit_key(key: bytes) -> tuple[str, int | None] | None:
    """``(model, seq)`` of a sealed segment's key, ``(model, None)`` of a per-unit record of the
    layout before; None for any other record.

    >>> split_unit_key(b"~model/m/s/4"), split_unit_key(b"~model/m/u/units/a"), split_unit_key(b"~model/m/0")
    (('m', 4), ('m', None), None)
    """
    rest = key.decode(errors="replace").removeprefix("~model/")
    name, sep, seq = rest.partition(SEGMENTS)
    if sep and name and seq.isdigit():
        return name, int(seq)
    name, sep, _ = rest.partition(LEGACY_UNITS)
    return (name, None) if sep and name else None


def join_head(packed: bytes, head: bytes) -> bytes:
    """A packed global snapshot and its head segment as one blob (cut into chunks after).

    >>> split_head(join_head(pack(b"RLSNAP2 x"), b"RLSEG1 y")) == (pack(b"RLSNAP2 x"), b"RLSEG1 y")
    True
    """
    return HEADED + b"%010d" % len(packed) + packed + head


def split_head(blob: bytes) -> tuple[bytes, bytes | None]:
    """The packed global snapshot and the head segment of a model's blob (no head: a model
    written whole). Raises ``ValueError`` on a length that does not fit."""
    if not blob.startswith(HEADED):
        return blob, None
    at = len(HEADED) + 10
    size = int(blob[len(HEADED) : at])
    if size > len(blob) - at:
        raise ValueError("model blob shorter than its snapshot length")
    return blob[at : at + size], blob[at + size :]


def snapshot_records(
    models: WorkerModels,
    offsets: Mapping[str, int],
    *,
    key: bytes,
    names: Iterable[str] | None = None,
    index: Mapping[str, int] | None = None,
    ledgers: dict[str, UnitLedger] | None = None,
    whole: Iterable[str] = (),
) -> list[tuple[bytes, bytes | None]]:
    """Every live model (or only those of ``names``) as signed records tied to ``offsets``,
    then the index: ``index`` (the chunk counts as last written) updated with the models
    written now, so a model not written keeps the chunks it has in the changelog.

    A model with unit maps is written as tombstones for the segments it no longer uses, the
    segments it seals now, then its global snapshot's chunks with its head segment
    (models/unit_ledger.py): continuing its ledger in ``ledgers``, or written whole under a
    new epoch when it has none there (which is then put in ``ledgers``) or is named in
    ``whole``. A model without unit maps is its whole snapshot's chunks.

    >>> from config.settings import Settings
    >>> recs = snapshot_records(build_models(Settings(_env_file=None)), {"t:0": 3}, key=b"k" * 32)
    >>> recs[-1][0], orjson.loads(recs[-1][1])["equipment-anomaly"]
    (b'~models', 1)
    """
    out: list[tuple[bytes, bytes | None]] = []
    counts = dict(index or {})
    ledgers = {} if ledgers is None else ledgers
    rewrite = set(whole)
    live = models.registry.names()
    for name in live if names is None else [n for n in names if n in live]:
        model = models.registry.get(name)
        maps = unit_maps(model)
        if not maps:
            blob = pack(take_global(model, offsets, key=key, epoch=None))
        else:
            ledger = ledgers.get(name)
            fresh = ledger is None
            if ledger is None:
                ledger = ledgers[name] = UnitLedger.fresh(None)
            sealed, dropped = ledger.write(maps, whole=fresh or name in rewrite)
            out.extend((segment_key(name, seq), None) for seq in dropped)
            out.extend(
                (
                    segment_key(name, seq),
                    seal(name, epoch=ledger.epoch, seq=seq, entries=e, key=key),
                )
                for seq, e in sealed
            )
            head = seal(
                name,
                epoch=ledger.epoch,
                seq=HEAD,
                entries=ledger.entries(),
                key=key,
                segments=ledger.segments,
            )
            blob = join_head(pack(take_global(model, offsets, key=key, epoch=ledger.epoch)), head)
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
    """Model name → its global snapshot, from a partition's model records (the chunks the
    index names; a model with a chunk missing is left out and logged: it starts fresh).

    >>> snapshot_blobs({b"~model/m/0": b"ab", b"~model/m/1": b"c", b"~models": b'{"m": 2}'})
    {'m': b'abc'}
    """
    return {name: blob for name, (blob, _) in model_blobs(records).items()}


def model_blobs(records: Mapping[bytes, bytes | None]) -> dict[str, tuple[bytes, bytes | None]]:
    """Model name → its global snapshot and its head segment (None: a model written whole),
    as :func:`snapshot_blobs` finds them."""
    index = read_index(records)
    if not index:
        if records.get(INDEX):
            log.warning(
                "model index unreadable; the models start fresh",
                index=(records[INDEX] or b"")[:80].hex(),
            )
        return {}
    out: dict[str, tuple[bytes, bytes | None]] = {}
    for name, count in index.items():
        pieces = [records.get(_chunk_key(name, i)) for i in range(count)]
        if any(p is None for p in pieces):
            log.warning("model snapshot incomplete; that model starts fresh", model=name)
            continue
        try:
            packed, head = split_head(b"".join(p for p in pieces if p is not None))
            out[name] = (unpack(packed), head)
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
        self.loose.nearby_apart = True  # places come on their own topic (streams/nearby.py)
        self.loose.prepare()  # before the first event, not on it (jieba's dictionary)
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

    def note_nearby(self, at: datetime, lat: float, lon: float) -> None:
        """Count a located complaint's copy in the current partition's inspection models."""
        self._here().note_nearby(at, lat, lon)

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
        blobs = model_blobs(state.model_records)
        segments = _segment_records(state.model_records)
        ledgers: dict[str, UnitLedger] = {}
        written: dict[str, object] = {}  # the objects restored, before any publication below
        restored: set[str] = set()
        for name, (blob, head) in blobs.items():
            ledger = self._restore(models, name, blob, head, segments.get(name, {}))
            if ledger is False:
                continue
            restored.add(name)
            if isinstance(ledger, UnitLedger):
                ledgers[name] = ledger
                written[name] = models.registry.get(name)
        for name, found in segments.items():  # segments no restored ledger names: tombstoned
            held = ledgers[name].segments if name in ledgers else {}
            state.model_stale.extend(k for seq, (k, _) in found.items() if seq not in held)
        # the segments now live in the models' maps (as their units' packed bytes): not kept
        # twice; the marker-time values a torn checkpoint would rewrite are not needed once
        # the models are built (those are then written whole, below)
        state.model_records = {
            k: v for k, v in state.model_records.items() if split_unit_key(k) is None
        }
        for pub in self.applied:  # those in the snapshot already are refused
            with contextlib.suppress(PublicationRejected):
                models.add(pub)
        # the ledgers name the segments in the changelog: a model written whole later (after
        # a torn checkpoint, a publication) tombstones them and numbers its own after them
        state.model_ledgers = ledgers
        if not state.models_rewrite:
            state.models_saved = models.changes
            state.model_touched = dict(models.touched)
            # the chunks in the changelog of the models restored; a model whose snapshot was
            # refused starts fresh, and is written whole at the next checkpoint
            index = read_index(state.model_records)
            state.model_index = {n: c for n, c in index.items() if n in restored}
            for name in set(models.registry.names()) - set(state.model_index):
                state.model_touched[name] = -1
            # a publication applied above replaced a model: it is another object than the
            # one its ledger's units belong to, so it is written whole (records, below)
            state.model_written = written
        return models

    def _restore(
        self,
        models: WorkerModels,
        name: str,
        blob: bytes,
        head: bytes | None,
        found: Mapping[int, tuple[bytes, bytes | None]],
    ) -> UnitLedger | bool:
        """Model ``name`` from its global snapshot and, with a head, its units' segments: the
        ledger they continue; True: restored whole (no units apart); False: refused, logged
        (the model starts fresh; its segments are tombstoned)."""
        try:
            header, _ = snapshot.read_header(blob)
        except ModelError:
            header = None  # models.restore logs why
        if head is None and header is not None and header.units is not None:
            log.warning(
                "model snapshot of the per-unit record layout (before unit segments); "
                "not loaded, that model starts fresh",
                model=name,
            )
            return False
        try:
            units: dict[tuple[str, str], tuple[bytes, int]] = {}
            ledger = None
            if head is not None:
                ledger, units = self._open_units(models, name, header, head, found)
        except (ModelError, KeyError) as exc:
            log.warning("model units refused; that model starts fresh", model=name, error=str(exc))
            return False
        restored = models.restore(name, blob, key=self.key)
        if restored is None:
            return False
        log.info(
            "model restored",
            model=name,
            version=restored.version,
            offsets=restored.offsets,
            units=len(units),
            segments=len(found),
        )
        if ledger is None:
            return True
        maps = unit_maps(models.registry.get(name))
        for (map_name, unit), (packed, seen) in units.items():
            maps[map_name].put_packed(unit, packed, seen)
        return ledger

    def _open_units(
        self,
        models: WorkerModels,
        name: str,
        header: SnapshotHeader | None,
        head: bytes,
        found: Mapping[int, tuple[bytes, bytes | None]],
    ) -> tuple[UnitLedger, dict[tuple[str, str], tuple[bytes, int]]]:
        """The verified head and sealed segments of model ``name``'s epoch, as its ledger and
        units; raises :class:`ModelError` (or ``KeyError``: a segment missing) otherwise."""
        if header is None or header.units is None:
            raise CorruptSnapshot("a unit head beside a snapshot that names no epoch")
        epoch = header.units
        entries, listed = open_segment(head, model=name, epoch=epoch, seq=HEAD, key=self.key)
        segments: dict[int, list[Entry]] = {}
        for seq, count in listed.items():
            record = found[seq][1]
            if record is None:
                raise KeyError(f"segment {seq} deleted")
            segments[seq], _ = open_segment(record, model=name, epoch=epoch, seq=seq, key=self.key)
            if len(segments[seq]) != count:
                raise CorruptSnapshot(
                    f"segment {seq} holds {len(segments[seq])} units, not {count}"
                )
        ledger, units = UnitLedger.restored(epoch, segments, entries)
        maps = unit_maps(models.registry.get(name))  # the fresh model of the same factory
        unknown = {m for m, _ in units} - set(maps)
        if unknown:
            raise CorruptSnapshot(f"units of maps the model does not have: {sorted(unknown)}")
        return ledger, units

    def records(self, state: PartitionState) -> list[tuple[bytes, bytes | None]]:
        """The model records a checkpoint writes for ``state`` (called with the gate closed,
        so the models and ``state.absorbed`` agree): tombstones for unit segments left over,
        then the models that changed since the last checkpoint — of each, the segments it
        drops and seals and its global snapshot with its head, or all of it under a new epoch
        when it was not written here before (a new publication, a rollback, a fresh start) —
        then the index; the torn records at their marker-time values after a torn
        checkpoint; else none.

        Why not all four whenever one changed: the complaint classifier is ~90 % of a
        partition's model bytes and changes only when the partition sees a complaint; why not
        a model whole: with many entities, its units are most of its bytes and few changed."""
        out: list[tuple[bytes, bytes | None]] = [(k, None) for k in state.model_stale]
        state.model_stale = []
        models = state.models
        if models is not None and models.changes != state.models_saved:
            names = None  # all, whole: after a failed write or a torn checkpoint
            if state.models_saved != -1:
                names = [n for n, c in models.touched.items() if c != state.model_touched.get(n)]
            whole = [
                n
                for n in models.registry.names()
                if names is None or state.model_written.get(n) is not models.registry.get(n)
            ]
            state.models_saved = models.changes
            state.models_rewrite = False
            state.model_touched = dict(models.touched)
            records = snapshot_records(
                models,
                dict(state.absorbed),
                key=self.key,
                names=names,
                index=state.model_index if names is not None else None,
                ledgers=state.model_ledgers,
                whole=whole,
            )
            state.model_written = {n: models.registry.get(n) for n in state.model_ledgers}
            state.model_index = orjson.loads(records[-1][1] or b"{}")
            return out + records
        if state.models_rewrite:
            state.models_rewrite = False
            return out + [(k, state.model_records.get(k)) for k in sorted(state.model_torn)]
        return out


def _segment_records(
    records: Mapping[bytes, bytes | None],
) -> dict[str, dict[int, tuple[bytes, bytes | None]]]:
    """Model name → its segment records by sequence ``(key, value)`` among a partition's; a
    per-unit record of the layout before segments is filed under sequence -1 and up, so it is
    tombstoned like any segment no ledger names."""
    out: dict[str, dict[int, tuple[bytes, bytes | None]]] = {}
    for key, value in records.items():
        where = split_unit_key(key)
        if where is not None:
            found = out.setdefault(where[0], {})
            seq = where[1] if where[1] is not None else -1 - len(found)
            found[seq] = (key, value)
    return out
