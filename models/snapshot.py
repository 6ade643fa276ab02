"""Model snapshots: state as bytes, versioned, content-hashed, tied to the offsets it had seen.

A worker snapshots its models now and then and on shutdown; on start it restores the latest one
and replays the source topics from the recorded offsets, so no event is learnt twice or missed.

Format: ``RLSNAP1\\n`` + one line of JSON header + the pickled model. The header carries the
factory, its state version, the model's published version and params hash, the offsets
(``{"topic:partition": offset}``) and the sha256 of the pickled payload.

Pickle is acceptable *here only* because snapshots are written and read by our own workers and
stored in our own SQL store: a snapshot is never accepted from a user or over the control topic
(publications carry JSON params, never code or state). Restoring checks the hash before
unpickling and refuses a snapshot from another factory or state version.

>>> from models.registry import create
>>> m = create("equipment-anomaly")
>>> blob = take(m, {"equipment.readings:0": 41})
>>> restored, header = restore(blob, expect_factory="equipment-anomaly")
>>> header.offsets, restored.version == m.version
({'equipment.readings:0': 41}, True)
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Mapping
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, ValidationError

from models.base import SourceModel
from models.errors import CorruptSnapshot, IncompatibleSnapshot

MAGIC = b"RLSNAP1\n"


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


def take(model: SourceModel, offsets: Mapping[str, int]) -> bytes:
    """Serialise a model with the input offsets it has seen (next offset to read, per partition)."""
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
    )
    return MAGIC + header.model_dump_json().encode() + b"\n" + payload


def read_header(blob: bytes) -> tuple[SnapshotHeader, bytes]:
    """Header and payload of a snapshot, with the payload's hash verified."""
    if not blob.startswith(MAGIC):
        raise CorruptSnapshot(
            "not a RiskLoop model snapshot (bad magic); was it cut or re-encoded?"
        )
    head, sep, payload = blob[len(MAGIC) :].partition(b"\n")
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
    expect_state_version: str | None = None,
) -> tuple[SourceModel, SnapshotHeader]:
    """Model and header from a snapshot, refusing one the running code cannot continue.

    ``expect_state_version`` defaults to the registered factory's current state version.
    """
    header, payload = read_header(blob)
    if expect_state_version is None:
        from models.registry import get_factory

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
