"""streams/spill.py with the store: cold values' bytes go to a file per partition, read back
equal through every path a value takes (kept, undone, restored, moved, crashed, disk full)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import pytest

from streams.checkpoint import replay_changelog
from streams.packing import Cold, encode
from streams.spill import SPILLED, SpillFile
from streams.state import PartitionState, Store
from tests.unit.streams.test_cold_values import _checkpointed, window

if TYPE_CHECKING:
    from pathlib import Path


def _store(tmp_path: Path, partitions: int = 1) -> Store:
    store = Store(hot_bytes=0, spill_dir=tmp_path / "cold")
    for p in range(partitions):
        store.hold(p)
    return store


def _failed_event(store: Store, table: str, key: str, value: object) -> int:
    """An event of partition 0 that stores ``value`` and fails: how many keys it undid."""
    token = store.begin(0, f"{table}:0", 5)
    try:
        store.put(table, key, value)
        return store.undo()
    finally:
        store.abandon(token)


def test_cold_values_go_to_the_partitions_file_and_read_back_equal(tmp_path: Path) -> None:
    store = _store(tmp_path)
    for i in range(50):
        store.put("rule_state", f"r|e{i}", window(i))
    store.put("warnings", "w", {"evidence": ["x" * 700]})  # packed (zlib) bytes too
    _checkpointed(store)
    values = store.partitions[0].tables["rule_state"]
    assert all(v is SPILLED for v in values.values())  # no bytes per value left in memory
    assert len(store.spills[0]) == 51
    assert (tmp_path / "cold" / "partition-0.sqlite3").exists()
    assert [store.get("rule_state", f"r|e{i}") for i in range(50)] == [window(i) for i in range(50)]
    assert store.get("warnings", "w") == {"evidence": ["x" * 700]}
    assert not store.partitions[0].dirty  # reading changes nothing


def test_a_spilled_value_kept_decoded_goes_back_without_being_written_again(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    store.put("profiles", "u", {"name": "甲"})
    _checkpointed(store)
    store.keep("profiles", "u", store.get("profiles", "u"))
    assert store.partitions[0].tables["profiles"]["u"] == {"name": "甲"}
    assert _checkpointed(store) == []  # the same value: no changelog record …
    assert store.partitions[0].tables["profiles"]["u"] is SPILLED  # … and back on disk
    assert store.get("profiles", "u") == {"name": "甲"}


def test_a_value_spilled_again_reads_as_its_new_value(tmp_path: Path) -> None:
    """The store remembers the last spilled value it read (read twice in a row when a value is
    decoded to be kept): spilling that key again must not answer the old value."""
    store = _store(tmp_path)
    store.put("warnings", "e", {"n": 1})
    _checkpointed(store)
    assert store.get("warnings", "e") == {"n": 1}
    store.put("warnings", "e", {"n": 2})
    _checkpointed(store)
    assert store.partitions[0].tables["warnings"]["e"] is SPILLED
    assert store.get("warnings", "e") == {"n": 2}


def test_an_event_undone_puts_back_the_spilled_value_and_the_checkpoint_rewrites_it(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    store.put("vehicles", "f|p", {"fixes": 1})
    _checkpointed(store)
    assert _failed_event(store, "vehicles", "f|p", {"fixes": 2}) == 1
    assert store.partitions[0].tables["vehicles"]["f|p"] is SPILLED
    assert store.get("vehicles", "f|p") == {"fixes": 1}
    # still dirty (put marked it): the checkpoint writes the value it holds, read from disk
    assert _checkpointed(store) == [(b"vehicles/f|p", encode({"fixes": 1}))]


def test_a_restored_partition_spills_its_values_but_keeps_its_torn_keys(tmp_path: Path) -> None:
    source = _store(tmp_path / "a")
    source.put("warnings", "e", {"w": ["x" * 600]})
    source.put("tasks", "t", {"state": "open"})
    records = _checkpointed(source)
    torn = (b"tasks/t", encode({"state": "closed"}))  # after the marker: written back
    restored = replay_changelog([*records, (b"~checkpoint", b'{"absorbed": {}}'), torn])
    again = _store(tmp_path / "b", partitions=0)
    again.hold(0, restored.state)
    held = again.partitions[0]
    assert held.tables["warnings"]["e"] is SPILLED
    assert isinstance(held.tables["tasks"]["t"], Cold)
    assert held.tables["tasks"]["t"] is not SPILLED
    assert again.get("warnings", "e") == {"w": ["x" * 600]}
    assert _checkpointed(again) == [(b"tasks/t", encode({"state": "open"}))]


def test_a_partition_given_away_deletes_its_file_and_taken_again_starts_empty(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path, partitions=2)
    store.put("rule_state", "r|a", window(1))  # outside an event: the first partition
    token = store.begin(1, "inspections:1", 0)
    store.put("rule_state", "r|b", window(2))
    store.finish(token)
    _checkpointed(store)
    path = tmp_path / "cold" / "partition-1.sqlite3"
    assert path.exists()
    assert len(store.spills[0]) == len(store.spills[1]) == 1
    token = store.begin(0, "inspections:0", 1)  # a read from another partition's event
    assert store.get("rule_state", "r|b") == window(2)
    store.finish(token)
    store.release(1)
    assert not path.exists()
    assert 1 not in store.spills
    assert store.get("rule_state", "r|b") is None
    store.hold(1)
    assert len(store.spills[1]) == 0
    assert store.get("rule_state", "r|a") == window(1)  # the other partition untouched


def test_a_file_left_by_a_crash_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "cold" / "partition-0.sqlite3"
    path.parent.mkdir()
    path.write_bytes(b"not a database, or yesterday's values")
    store = _store(tmp_path)
    assert len(store.spills[0]) == 0
    store.put("warnings", "e", {"n": 1})
    _checkpointed(store)
    assert store.get("warnings", "e") == {"n": 1}


def test_a_full_disk_keeps_the_bytes_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path)
    store.put("warnings", "e", {"n": 1})

    def full(self: SpillFile, rows: object) -> bool:
        return False  # what write() answers when SQLite says the disk is full

    monkeypatch.setattr(SpillFile, "write", full)
    _checkpointed(store)
    held = store.partitions[0].tables["warnings"]["e"]
    assert isinstance(held, Cold)
    assert held is not SPILLED
    assert store.get("warnings", "e") == {"n": 1}


def test_a_write_that_fails_stores_nothing_and_says_so(tmp_path: Path) -> None:
    spill = SpillFile(tmp_path / "p.sqlite3")
    good = Cold(b'{"a":1}', 7)
    assert spill.write([("warnings", "a", good)])

    def rows() -> object:
        yield "warnings", "b", good
        raise sqlite3.OperationalError("database or disk is full")

    assert not spill.write(rows())  # type: ignore[arg-type]
    assert len(spill) == 1
    with pytest.raises(KeyError):
        spill.read("warnings", "b")
    spill.close()
    assert not (tmp_path / "p.sqlite3").exists()


def test_without_a_spill_dir_cold_values_stay_in_memory() -> None:
    store = Store(hot_bytes=0)
    store.hold(0, PartitionState())
    store.put("warnings", "e", {"n": 1})
    _checkpointed(store)
    assert not store.spills
    assert isinstance(store.partitions[0].tables["warnings"]["e"], Cold)
    assert store.partitions[0].tables["warnings"]["e"] is not SPILLED


def test_a_partition_taken_on_a_full_disk_keeps_its_cold_values_and_spills_once_there_is_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restore that finds the disk full (CI of 2026-12-06: the worker crashed there) holds
    the partition without a spill file; the next spill after room is back makes it."""
    made = SpillFile.__init__

    def full(self: SpillFile, path: Path) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(SpillFile, "__init__", full)
    restored = replay_changelog(_restorable())
    store = Store(hot_bytes=0, spill_dir=tmp_path / "cold")
    state = store.hold(0, restored.state)  # raised before
    assert store.spills == {}
    assert state.tables["warnings"]["a"] is not SPILLED
    assert store.get("warnings", "a") == {"n": 1}
    store.put("warnings", "b", {"n": 2})
    _checkpointed(store)  # still full: tried again, quietly, and kept in memory
    assert store.spills == {}
    assert store.get("warnings", "b") == {"n": 2}

    monkeypatch.setattr(SpillFile, "__init__", made)
    store.put("warnings", "c", {"n": 3})
    _checkpointed(store)
    assert len(store.spills[0]) >= 1
    assert state.tables["warnings"]["c"] is SPILLED
    assert [store.get("warnings", k) for k in "abc"] == [{"n": 1}, {"n": 2}, {"n": 3}]


def _restorable() -> list[tuple[bytes, bytes | None]]:
    """A changelog with one checkpointed value, ``warnings:a``, and its marker."""
    store = Store(hot_bytes=0)
    store.hold(0, PartitionState())
    store.put("warnings", "a", {"n": 1})
    return [*_checkpointed(store), (b"~checkpoint", b'{"absorbed": {}}')]


def test_a_spill_file_that_cannot_be_made_is_none_not_an_exception(tmp_path: Path) -> None:
    (tmp_path / "cold").write_text("a file where the folder should be")
    assert SpillFile.open(tmp_path / "cold" / "partition-0.sqlite3") is None
