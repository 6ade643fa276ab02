"""The ledger of a model's units (models/unit_ledger.py): what a checkpoint seals and drops,
and what a restore makes of segments and a head (newest entry wins, deletions stay deleted)."""

from __future__ import annotations

import random

import pytest

from models import unit_ledger
from models.unit_ledger import UnitLedger
from models.unit_map import UnitMap


@pytest.fixture(autouse=True)
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unit_ledger, "HEAD_BYTES", 100)
    monkeypatch.setattr(unit_ledger, "SEGMENT_BYTES", 100)
    monkeypatch.setattr(unit_ledger, "MIN_STALE", 2)
    monkeypatch.setattr(unit_ledger, "CARRY_BYTES", 100)


def filled(n: int) -> UnitMap[bytes]:
    units = UnitMap[bytes]()
    for i in range(n):
        units[f"u{i}"] = random.Random(i).randbytes(300)  # incompressible: packs past 100 bytes
    return units


def test_a_full_head_is_sealed_into_segments_numbered_on() -> None:
    units = filled(3)
    ledger = UnitLedger.fresh(None)
    sealed, dropped = ledger.write({"units": units}, whole=True)
    assert [seq for seq, _ in sealed] == [0, 1, 2]
    assert dropped == []
    assert ledger.head == {}
    assert ledger.segments == {0: 1, 1: 1, 2: 1}
    assert ledger.sealed == {"units": {"u0", "u1", "u2"}}
    assert ledger.stale == 0


def test_changed_sealed_units_go_stale_and_compaction_drops_their_segments() -> None:
    units = filled(3)
    ledger = UnitLedger.fresh(None)
    ledger.write({"units": units}, whole=True)
    epoch = ledger.epoch
    units["u0"], units["u1"] = b"a", b"b"  # small: they stay in the head
    assert ledger.write({"units": units}, whole=False) == ([], [])
    assert ledger.stale == 2
    assert sorted(ledger.head) == [("units", "u0"), ("units", "u1")]
    units["u2"] = b"c"  # 3 of 3 sealed entries stale: more than half, so at the next write
    assert ledger.write({"units": units}, whole=False) == ([], [])
    units["u0"] = b"d"
    sealed, dropped = ledger.write({"units": units}, whole=False)
    assert dropped == [0, 1, 2]
    assert ledger.epoch != epoch
    assert sealed == [], "written whole, it fits the head now"
    assert ledger.next_seq == 3, "numbering goes on: no key shared with a tombstone"
    assert sorted(u for _, u in ledger.head) == ["u0", "u1", "u2"]


def test_a_restore_takes_the_newest_entry_and_leaves_deleted_units_out() -> None:
    segments = {
        0: [("m", "a", b"a0", 1), ("m", "b", b"b0", 1)],
        3: [("m", "a", b"a3", 2), ("m", "c", b"c3", 1)],
    }
    head = [("m", "c", None, 0), ("m", "d", b"d", 5)]
    ledger, units = UnitLedger.restored("e", segments, head)
    assert units == {("m", "a"): (b"a3", 2), ("m", "b"): (b"b0", 1), ("m", "d"): (b"d", 5)}
    assert ledger.next_seq == 4
    assert ledger.segments == {0: 2, 3: 2}
    assert ledger.sealed == {"m": {"a", "b"}}
    assert ledger.stale == 2, "a0 replaced by a3, c3 by its deletion"
    assert ledger.head[("m", "c")] == (None, 0)


def test_units_that_stop_changing_are_sealed_and_busy_ones_stay_in_the_head(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(unit_ledger, "HEAD_BYTES", 10_000)
    units = filled(3)
    ledger = UnitLedger.fresh(None)
    assert ledger.write({"units": units}, whole=True) == ([], []), "all changed: none carried"
    units["u0"] = random.Random(9).randbytes(300)
    sealed, _ = ledger.write({"units": units}, whole=False)
    assert [[u for _, u, _, _ in entries] for _, entries in sealed] == [["u1"], ["u2"]]
    assert list(ledger.head) == [("units", "u0")]
    units["u0"] = random.Random(10).randbytes(300)
    assert ledger.write({"units": units}, whole=False) == ([], []), "a busy unit: no record"
