"""Model snapshots: state as bytes, versioned, content-hashed, tied to the offsets it had seen.

A worker snapshots each partition's models at that partition's checkpoint, with the offsets the
partition had absorbed (streams/model_state.py); a partition's next owner restores them and the
events after those offsets come again, so no event is learnt twice or missed.

Format: ``RLSNAP2\\n`` + the hex HMAC-SHA256 of the rest + ``\\n`` + one line of JSON header +
``\\n`` + the pickled model. The header carries the factory, its state version, the model's
published version and params hash, the offsets (``{"topic:partition": offset}``) and the sha256
of the pickled payload; for a model checkpointed with its units apart (streams/model_state.py,
models/unit_ledger.py) also ``units``, the epoch of its unit segments, the model itself then
pickled without its units.

Unpickling runs code, so a snapshot is only unpickled when its MAC verifies under the workers'
secret snapshot key (``RISKLOOP_SNAPSHOT_KEY``, or the key file in the data dir; see
:func:`streams.snapshots.snapshot_key`): whoever can write the SQL snapshot table but does not
hold the key cannot make a worker run their code. A plain hash would not do: anyone who can
write the table can recompute it. A snapshot is never accepted from a user or over the control
topic (publications carry JSON params, never code or state). Restoring also refuses a snapshot
from another factory or state version.

>>> from models.factories import create
>>> m = create("equipment-anomaly")
>>> blob = take(m, {"equipment.readings:0": 41}, key=b"k" * 32)
>>> restored, header = restore(blob, expect_factory="equipment-anomaly", key=b"k" * 32)
>>> header.offsets, restored.version == m.version
({'equipment.readings:0': 41}, True)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import pickle
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, ValidationError

from models.base import SourceModel
from models.errors import CorruptSnapshot, IncompatibleSnapshot, TamperedSnapshot

if TYPE_CHECKING:
    from collections.abc import Mapping

MAGIC = b"RLSNAP2\n"
MAC_LEN = 64  # hex sha256


class SnapshotHeader(BaseModel):
    """What a snapshot says about itself (readable without unpickling anything)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    factory: str
    state_version: str
    version: str
    params_hash: str
    offsets: dict[str, int]
    content_hash: str
    size: int
    taken_at: datetime
    units: str | None = None
    """The model's units are not in this snapshot but in unit segments of this epoch
    (models/unit_ledger.py); None: a whole model, units included (and every snapshot taken
    before units were written apart)."""


def sign(body: bytes, key: bytes) -> bytes:
    """Hex HMAC-SHA256 of ``body`` under ``key``."""
    return hmac.new(key, body, hashlib.sha256).hexdigest().encode()


def take(
    model: SourceModel, offsets: Mapping[str, int], *, key: bytes, units: str | None = None
) -> bytes:
    """Serialise a model with the input offsets it has seen (next offset to read, per partition),
    signed with ``key``. ``units``: the epoch of the unit segments that hold its units (the
    caller pickles it with its unit maps detached, models/unit_records.py)."""
    payload = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    header = SnapshotHeader(
        model=model.name,
        factory=model.factory,
        state_version=model.state_version,
        version=model.version,
        params_hash=model.content_hash,
        offsets=dict(offsets),
        content_hash=hashlib.sha256(payload).hexdigest(),
        size=len(payload),
        taken_at=datetime.now(UTC),
        units=units,
    )
    # a whole snapshot's header is as it always was: a worker of the release before unit
    # records (extra="forbid") still reads it; one with ``units`` it refuses, which is right,
    # since it would not know to look for the units
    head = header.model_dump_json(exclude={"units"} if units is None else None)
    body = head.encode() + b"\n" + payload
    return MAGIC + sign(body, key) + b"\n" + body


def _split(blob: bytes) -> tuple[bytes, bytes]:
    """The MAC and the signed body of a snapshot."""
    if not blob.startswith(MAGIC):
        raise CorruptSnapshot(
            "not a RiskLoop model snapshot (bad magic, or an unsigned RLSNAP1 snapshot of an "
            "older release); was it cut or re-encoded?"
        )
    rest = blob[len(MAGIC) :]
    mac, body = rest[:MAC_LEN], rest[MAC_LEN + 1 :]
    if len(rest) <= MAC_LEN or rest[MAC_LEN : MAC_LEN + 1] != b"\n":
        raise CorruptSnapshot("snapshot signature line is missing; the bytes were truncated")
    return mac, body


def verify(blob: bytes, key: bytes) -> None:
    """Raise :class:`TamperedSnapshot` unless the snapshot's MAC verifies under ``key``."""
    mac, body = _split(blob)
    if not hmac.compare_digest(mac, sign(body, key)):
        raise TamperedSnapshot(
            "snapshot signature does not verify: it was written without this worker's snapshot "
            "key (RISKLOOP_SNAPSHOT_KEY or the data dir's key file) or altered since; not loaded"
        )


def read_header(blob: bytes) -> tuple[SnapshotHeader, bytes]:
    """Header and payload of a snapshot, with the payload's hash verified (not the signature:
    nothing is unpickled here; :func:`restore` verifies it)."""
    _, body = _split(blob)
    head, sep, payload = body.partition(b"\n")
    if not sep:
        raise CorruptSnapshot("snapshot header is not terminated; the bytes were truncated")
    try:
        header = SnapshotHeader.model_validate(json.loads(head))
    except (ValueError, ValidationError) as exc:
        raise CorruptSnapshot(f"snapshot header unreadable: {exc}") from exc
    digest = hashlib.sha256(payload).hexdigest()
    if digest != header.content_hash:
        raise CorruptSnapshot(
            f"snapshot of {header.model} {header.version} fails its sha256 check "
            f"({digest[:12]} ≠ {header.content_hash[:12]}); restore an older one or retrain"
        )
    return header, payload


def restore(
    blob: bytes,
    *,
    expect_factory: str,
    key: bytes,
    expect_state_version: str | None = None,
) -> tuple[SourceModel, SnapshotHeader]:
    """Model and header from a snapshot, refusing one the running code cannot continue or
    one whose signature does not verify under ``key`` (before anything is unpickled).

    ``expect_state_version`` defaults to the registered factory's current state version.
    """
    verify(blob, key)
    header, payload = read_header(blob)
    if expect_state_version is None:
        from models.factories import get_factory

        expect_state_version = get_factory(expect_factory).version
    if header.factory != expect_factory or header.state_version != expect_state_version:
        raise IncompatibleSnapshot(
            f"snapshot of model {header.model!r} was taken by factory {header.factory!r} state "
            f"v{header.state_version}; this worker runs {expect_factory!r} state "
            f"v{expect_state_version}. Start that model fresh (replay from the earliest offsets) "
            "or roll the worker back to the matching release"
        )
    try:
        model = pickle.loads(payload)
    except Exception as exc:  # a class moved or changed without a state-version bump
        raise IncompatibleSnapshot(
            f"snapshot of model {header.model!r} (state v{header.state_version}) cannot be "
            f"loaded by this code ({type(exc).__name__}: {exc}); start that model fresh"
        ) from exc
    if not isinstance(model, SourceModel):
        raise CorruptSnapshot(f"snapshot payload is a {type(model).__name__}, not a model")
    return model, header
