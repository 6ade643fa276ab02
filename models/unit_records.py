"""A model's units as a few signed *segment* records, bound to their model, epoch and sequence.

Why (issue #16): a checkpoint pickled each partition's models whole, every unit of every
elevator and truck ever seen, whenever any of them learnt; with 100,000 distinct entities that
was ~58 % of a worker's CPU per event, growing with the entities. Writing each changed unit as
a record of its own fixed that, but on a stream of few busy entities (the broker bench's 78) it
wrote one record per unit used at every checkpoint: 0.023 → 0.326 model records per input
event. Now a model with unit maps (models/unit_map.py: ``UnitAnomalyModel.units``) is written
as a small *global* snapshot (the model pickled with its unit maps detached) carrying a *head*
segment, plus *sealed* segments: models/unit_ledger.py decides which unit goes where, so a
checkpoint writes the units' packed bytes it already holds (never re-encoding an unchanged
unit) in as few records as their bytes need.

A segment is ``RLSEG1\\n`` + the hex HMAC-SHA256 of the rest + ``\\n`` + one line of JSON
header + ``\\n`` + its units' packed bytes one after another (the zlib'd pickles their maps keep
for a cold unit). The header names the model, the *epoch* (a random name given each time the
model is written whole, carried by its global snapshot, ``SnapshotHeader.units``), the
sequence (``"head"`` for the head) and per unit ``[map, unit, readings seen, length]`` (length
-1: the unit was deleted); the head also lists the sealed segments of its epoch and their unit
counts. The MAC covers all of it, so a segment copied under another key, or left over from
another epoch, is refused; nothing is unpickled before the MAC verifies, and a restored unit is
not unpickled at all until a reading of its own arrives.

>>> from models.unit_map import UnitMap
>>> m = UnitMap[int](); m["u1"] = 7
>>> blob, seen = m.packed_unit("u1")
>>> rec = seal("m", epoch="e1", seq=0, entries=[("units", "u1", blob, seen)], key=b"k" * 32)
>>> open_segment(rec, model="m", epoch="e1", seq=0, key=b"k" * 32)[0] == [("units", "u1", blob, 0)]
True
"""

from __future__ import annotations

import hmac
import json
import secrets
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, Protocol

from models import snapshot
from models.errors import CorruptSnapshot, IncompatibleSnapshot, TamperedSnapshot
from models.unit_history import UnitHistory
from models.unit_map import UnitMap

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from contextlib import AbstractContextManager

    from models.base import SourceModel

MAGIC = b"RLSEG1\n"
MAC_LEN = 64  # hex sha256


class UnitStore(Protocol):
    """What a model's per-unit state offers the checkpoint: models/unit_map.py's ``UnitMap``
    (equipment, trucks) and models/unit_history.py's ``UnitHistory`` (inspections)."""

    def take_changes(self, *, every: bool = False) -> tuple[dict[str, tuple[bytes, int]], set[str]]:
        """Units changed since the last call (all with ``every``) as (packed bytes, readings
        seen), and the units deleted since."""

    def put_packed(self, key: str, blob: bytes, seen: int) -> None:
        """A unit back from the bytes :meth:`take_changes` gave (its record verified)."""

    def detached(self) -> AbstractContextManager[None]:
        """The store empty for the span of a block: the model is pickled without its units."""


STORES = (UnitMap, UnitHistory)
"""The :class:`UnitStore` kinds (a plain isinstance: a protocol's costs ~20× more, and this runs
over every attribute of every model written at every checkpoint)."""


def unit_maps(model: Any) -> dict[str, UnitStore]:
    """The model's unit stores by attribute name (none: the model is written whole)."""
    out: dict[str, UnitStore] = {}
    for name, value in vars(model).items():
        if isinstance(value, STORES):
            out[name] = value
    return out


def new_epoch() -> str:
    """A fresh epoch: unit segments of any earlier one no longer count."""
    return secrets.token_hex(8)


def take_global(
    model: SourceModel, offsets: Mapping[str, int], *, key: bytes, epoch: str | None
) -> bytes:
    """The model's snapshot without its units (they are in unit segments of ``epoch``); a model
    without unit maps, or ``epoch`` None, whole as :func:`models.snapshot.take` takes it."""
    maps = unit_maps(model) if epoch is not None else {}
    with ExitStack() as stack:
        for units in maps.values():
            stack.enter_context(units.detached())
        return snapshot.take(model, offsets, key=key, units=epoch if maps else None)


Entry = tuple[str, str, bytes | None, int]
"""One unit in a segment: ``(map, unit, packed bytes or None when deleted, readings seen)``."""

HEAD = "head"
"""The sequence of the segment carried inside the global snapshot's record."""


def seal(
    model: str,
    *,
    epoch: str,
    seq: int | str,
    entries: Sequence[Entry],
    key: bytes,
    segments: Mapping[int, int] | None = None,
) -> bytes:
    """``entries`` as a signed segment of ``model``'s ``epoch`` (module docstring); the head
    also names the sealed ``segments`` (sequence → unit count) it continues."""
    header: dict[str, Any] = {"model": model, "epoch": epoch, "seq": seq}
    if segments is not None:
        header["segments"] = {str(s): n for s, n in sorted(segments.items())}
    header["units"] = [[m, u, seen, -1 if b is None else len(b)] for m, u, b, seen in entries]
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
    body = b"".join([head, b"\n", *(b for _, _, b, _ in entries if b is not None)])
    return MAGIC + snapshot.sign(body, key) + b"\n" + body


def open_segment(
    record: bytes, *, model: str, epoch: str, seq: int | str, key: bytes
) -> tuple[list[Entry], dict[int, int]]:
    """The entries of a segment (and, for the head, the sealed segments it names), once its
    MAC verifies under ``key`` and it names this model, epoch and sequence; else a
    :class:`ModelError`."""
    if not record.startswith(MAGIC) or record[len(MAGIC) + MAC_LEN : len(MAGIC) + MAC_LEN + 1] != (
        b"\n"
    ):
        raise CorruptSnapshot("not a RiskLoop unit segment (bad magic or signature line)")
    mac, body = record[len(MAGIC) : len(MAGIC) + MAC_LEN], record[len(MAGIC) + MAC_LEN + 1 :]
    if not hmac.compare_digest(mac, snapshot.sign(body, key)):
        raise TamperedSnapshot("unit segment signature does not verify; not loaded")
    head, sep, blobs = body.partition(b"\n")
    try:
        header = json.loads(head)
        named = (header["model"], header["seq"])
        units = [(str(m), str(u), int(seen), int(n)) for m, u, seen, n in header["units"]]
        segments = {int(s): int(n) for s, n in header.get("segments", {}).items()}
    except (ValueError, KeyError, TypeError) as exc:
        raise CorruptSnapshot(f"unit segment header unreadable: {exc}") from exc
    if not sep or named != (model, seq):
        raise CorruptSnapshot(f"unit segment of {named!r} found as {(model, seq)!r}")
    if header.get("epoch") != epoch:
        raise IncompatibleSnapshot("unit segment of another epoch (the model was written since)")
    entries: list[Entry] = []
    at = 0
    for map_name, unit, seen, n in units:
        if n > len(blobs) - at:
            raise CorruptSnapshot("unit segment shorter than its header says")
        entries.append((map_name, unit, None if n < 0 else blobs[at : at + max(n, 0)], seen))
        at += max(n, 0)
    if at != len(blobs):
        raise CorruptSnapshot("unit segment longer than its header says")
    return entries, segments
