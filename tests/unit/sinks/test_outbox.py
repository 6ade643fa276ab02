"""The outbox journal: in-order reads, prefix acks, survives reopening, never reuses a seq."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from sinks.errors import OutboxError
from sinks.outbox import Outbox

if TYPE_CHECKING:
    from pathlib import Path


def test_reads_in_append_order_and_acks_a_prefix(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3")
    seqs = box.append_many([("K", str(i)) for i in range(10)])
    assert seqs == sorted(seqs)
    box.ack(seqs[3])
    assert [r.payload for r in box.read()] == [str(i) for i in range(4, 10)]
    assert [r.payload for r in box.read(after=seqs[6], limit=2)] == ["7", "8"]
    assert box.count() == 6
    box.close()


def test_append_returns_the_seq_each_row_was_stored_under(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3")
    first = box.append_many([("K", "a"), ("K", "b"), ("K", "c")])
    box.ack(first[0])
    second = box.append_many([("K", "d"), ("K", "e")])
    assert box.append_many([]) == []
    stored = {r.payload: r.seq for r in box.read()}
    assert stored == {"b": first[1], "c": first[2], "d": second[0], "e": second[1]}
    assert second[0] > first[2]
    box.close()


def test_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    box = Outbox(path, durability="NORMAL")
    box.append_many([("K", "a"), ("K", "b")])
    box.close()
    again = Outbox(path)
    assert [(r.kind, r.payload) for r in again.read()] == [("K", "a"), ("K", "b")]
    again.close()


def test_seq_is_never_reused_after_everything_was_acked(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    box = Outbox(path)
    (last,) = box.append_many([("K", "a")])
    box.ack(last)
    box.close()
    box = Outbox(path)
    (nxt,) = box.append_many([("K", "b")])
    assert nxt > last
    box.close()


def test_unusable_path_is_an_outbox_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutboxError, match="cannot open"):
        Outbox(blocker / "o.sqlite3")


def test_sync_of_a_normal_outbox_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    box = Outbox(path, durability="NORMAL")
    box.sync()  # nothing appended yet: nothing to do, no error
    box.append_many([("Task", "a"), ("Task", "b")])
    box.sync()
    assert (tmp_path / "o.sqlite3-wal").exists()
    box.close()
    assert [r.payload for r in Outbox(path).read()] == ["a", "b"]
