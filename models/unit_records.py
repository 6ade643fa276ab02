"""A model's units as records of their own: signed, and bound to their model, unit and epoch.

Why (issue #16): a checkpoint pickled each partition's models whole, every unit of every
elevator and truck ever seen, whenever any of them learnt; with 100,000 distinct entities that
was ~58 % of a worker's CPU per event, growing with the entities. Now a model with unit maps
(models/unit_map.py: ``UnitAnomalyModel.units``) is written as a small *global* snapshot (the
model pickled with its unit maps detached: hyperparameters, groups, drift, the maps' preset
dictionary) plus one record per unit that changed since the last checkpoint; the caller
(streams/model_state.py) keys them and writes them with the partition's marker.

A unit record is ``RLUNIT1\\n`` + the hex HMAC-SHA256 of the rest + ``\\n`` + one line of JSON
header + ``\\n`` + the unit's packed bytes (the zlib'd pickle its map keeps for a cold unit).
The header names the model, the map, the unit, the readings it has seen and the *epoch*: a
random name given each time the model is written whole, carried by its global snapshot
(``SnapshotHeader.units``). The MAC covers all of it, so a record copied under another key, or
left over from another epoch (the model was replaced, refused or written whole since), is
refused and that unit starts fresh; nothing is unpickled before the MAC verifies, and a
restored unit is not unpickled at all until a reading of its own arrives.

>>> from models.unit_map import UnitMap
>>> m = UnitMap[int](); m["u1"] = 7
>>> blob, seen = m.packed_unit("u1")
>>> rec = seal("m", "units", "u1", epoch="e1", blob=blob, seen=seen, key=b"k" * 32)
>>> open_unit(rec, model="m", map_name="units", unit="u1", epoch="e1", key=b"k" * 32) == (blob, 0)
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
    from collections.abc import Iterable, Mapping
    from contextlib import AbstractContextManager

    from models.base import SourceModel

MAGIC = b"RLUNIT1\n"
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
    """A fresh epoch: unit records of any earlier one no longer count."""
    return secrets.token_hex(8)


def take_global(
    model: SourceModel, offsets: Mapping[str, int], *, key: bytes, epoch: str | None
) -> bytes:
    """The model's snapshot without its units (they are unit records of ``epoch``); a model
    without unit maps, or ``epoch`` None, whole as :func:`models.snapshot.take` takes it."""
    maps = unit_maps(model) if epoch is not None else {}
    with ExitStack() as stack:
        for units in maps.values():
            stack.enter_context(units.detached())
        return snapshot.take(model, offsets, key=key, units=epoch if maps else None)


def seal(
    model: str, map_name: str, unit: str, *, epoch: str, blob: bytes, seen: int, key: bytes
) -> bytes:
    """A unit's packed bytes as a signed unit record (module docstring)."""
    head = json.dumps(
        {"model": model, "map": map_name, "unit": unit, "epoch": epoch, "seen": seen},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    body = head + b"\n" + blob
    return MAGIC + snapshot.sign(body, key) + b"\n" + body


def open_unit(
    record: bytes, *, model: str, map_name: str, unit: str, epoch: str, key: bytes
) -> tuple[bytes, int]:
    """The packed bytes and readings seen of a unit record, once its MAC verifies under
    ``key`` and it names this model, map, unit and epoch; else a :class:`ModelError`."""
    if not record.startswith(MAGIC) or record[len(MAGIC) + MAC_LEN : len(MAGIC) + MAC_LEN + 1] != (
        b"\n"
    ):
        raise CorruptSnapshot("not a RiskLoop unit record (bad magic or signature line)")
    mac, body = record[len(MAGIC) : len(MAGIC) + MAC_LEN], record[len(MAGIC) + MAC_LEN + 1 :]
    if not hmac.compare_digest(mac, snapshot.sign(body, key)):
        raise TamperedSnapshot("unit record signature does not verify; not loaded")
    head, sep, blob = body.partition(b"\n")
    try:
        header = json.loads(head)
        named = (header["model"], header["map"], header["unit"])
        seen = int(header["seen"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CorruptSnapshot(f"unit record header unreadable: {exc}") from exc
    if not sep or named != (model, map_name, unit):
        raise CorruptSnapshot(f"unit record of {named!r} found under {(model, map_name, unit)!r}")
    if header.get("epoch") != epoch:
        raise IncompatibleSnapshot("unit record of another epoch (the model was written since)")
    return blob, seen


def attach(
    model: SourceModel,
    records: Iterable[tuple[str, str, bytes]],
    *,
    model_name: str,
    epoch: str,
    key: bytes,
) -> tuple[int, list[tuple[str, str, str]]]:
    """Put ``(map, unit, record)`` into the restored ``model``'s unit maps, cold; returns the
    count put and the ``(map, unit, reason)`` of those refused (those units start fresh)."""
    maps = unit_maps(model)
    put = 0
    refused: list[tuple[str, str, str]] = []
    for map_name, unit, record in records:
        units = maps.get(map_name)
        if units is None:
            refused.append((map_name, unit, "the model has no such unit map"))
            continue
        try:
            blob, seen = open_unit(
                record, model=model_name, map_name=map_name, unit=unit, epoch=epoch, key=key
            )
        except (CorruptSnapshot, TamperedSnapshot, IncompatibleSnapshot) as exc:
            refused.append((map_name, unit, str(exc)))
            continue
        units.put_packed(unit, blob, seen)
        put += 1
    return put, refused
