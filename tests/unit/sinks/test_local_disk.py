"""The outbox's own disk: full (nothing accepted, the error says so, room again works) and
corrupt (moved aside, counted, a fresh outbox) — the sink never dies and never drops a row.

A full disk is SQLite's own: ``PRAGMA max_page_count`` caps the file where it is, and SQLite
answers the next write that needs a page with SQLITE_FULL, exactly as on ENOSPC. The test on a
real full filesystem is tests/integration/test_full_disk.py.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

from sinks.errors import OutboxCorrupt, OutboxError, OutboxFull, storage_full
from sinks.outbox import Outbox, quarantine
from streams.metrics import Metrics
from tests.unit.sinks.factories import make_task
from tests.unit.sinks.test_base import FakeSink, FakeTarget, ids, tasks

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from config.settings import Settings


@contextmanager
def disk_full(box: Outbox) -> Iterator[None]:
    """No page beyond the ones the file has now, until the block ends."""
    db = box._db  # the test reaches in: SQLite's cap is a connection setting
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count={pages}")
    try:
        yield
    finally:
        db.execute("PRAGMA max_page_count=1073741823")


def a_filled_outbox(path: Path, rows: int = 50) -> None:
    box = Outbox(path)
    box.append_many(("Task", make_task(n).model_dump_json()) for n in range(rows))
    box.close()


BIG = [("K", "x" * 20_000)] * 4  # needs pages the capped file does not have
STALLED = "riskloop_storage_stalled"


# ---------------------------------------------------------------------------- full disk


def test_a_full_disk_is_outbox_full_and_nothing_is_half_written(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3")
    box.append_many([("K", "kept")])
    with disk_full(box), pytest.raises(OutboxFull, match="disk is full") as caught:
        box.append_many(BIG)
    assert storage_full(caught.value)  # what the agents' boundary asks
    assert not box._db.in_transaction, "a failed write must not leave its transaction open"
    assert [r.payload for r in box.read()] == ["kept"]
    box.append_many(BIG)  # room again: the same call succeeds
    assert box.count() == 5
    box.close()


def test_storage_full_sees_through_wrapping() -> None:
    wrapped = OutboxError("cannot append")
    wrapped.__cause__ = OSError(28, "No space left on device")  # as `raise … from exc` sets it
    assert storage_full(wrapped)
    assert storage_full(OutboxFull("x"))
    assert not storage_full(OutboxError("cannot open: permission denied"))
    assert not storage_full(OutboxCorrupt("file is not a database"))


async def test_add_on_a_full_disk_raises_and_accepts_nothing(tmp_path: Path) -> None:
    target = FakeTarget()
    async with FakeSink(target, tmp_path / "o.sqlite3", batch_size=100, max_delay=60) as sink:
        box = sink._require_outbox()
        await sink.add_many(tasks(0, 2))
        with disk_full(box):
            big = [make_task(n, checklist=["x" * 20_000]) for n in range(2, 6)]
            with pytest.raises(OutboxFull) as caught:
                await sink.add_many(big)
            assert storage_full(caught.value)
            assert sink.backlog == 2
            assert box.count() == 2
        await sink.add_many(big)  # the retry the agents' boundary makes
        assert await sink.flush() == 6
    assert target.written == ids(0, 6)


@pytest.mark.parametrize("error", [OutboxFull("database or disk is full"), RuntimeError("bug")])
async def test_the_flusher_survives_a_failed_trim_and_writes_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    """The target took the batch but the outbox could not forget it (disk full): the flusher
    keeps it, retries, and the target sees it again (its upserts make that harmless)."""
    metrics = Metrics()
    target = FakeTarget()
    sink = FakeSink(target, tmp_path / "o.sqlite3", batch_size=3, max_delay=0.01, metrics=metrics)
    await sink.start()
    box = sink._require_outbox()
    real_ack, failures = box.ack, [error, error]

    def ack(upto: int) -> None:
        if failures:
            raise failures.pop()
        real_ack(upto)

    monkeypatch.setattr(box, "ack", ack)
    await sink.add_many(tasks(0, 3))
    await target.wait(lambda: len(target.batches) >= 3)
    assert sink._flusher is not None
    assert not sink._flusher.done()
    await sink.add_many(tasks(3, 5))
    await target.wait(lambda: ids(3, 5) in target.batches)
    await sink.stop()
    assert target.batches == [ids(0, 3)] * 3 + [ids(3, 5)]
    assert Outbox(tmp_path / "o.sqlite3").count() == 0
    retries = metrics.registry.get_sample_value("riskloop_sink_retries_total", {"sink": "fake"})
    assert retries == 2


# ---------------------------------------------------------------------------- corrupt file


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(os.urandom(40_000)),  # overwritten with garbage
        lambda p: os.truncate(p, 6000),  # cut short mid-page
        lambda p: os.truncate(p, 50),  # cut inside the header
    ],
    ids=["garbage", "truncated", "header-cut"],
)
def test_a_damaged_file_is_outbox_corrupt(tmp_path: Path, damage: object) -> None:
    path = tmp_path / "o.sqlite3"
    a_filled_outbox(path)
    damage(path)  # type: ignore[operator]
    with pytest.raises(OutboxCorrupt, match=str(path)) as caught:
        Outbox(path)
    assert not storage_full(caught.value)


def test_an_empty_file_is_just_an_empty_outbox(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    path.touch()
    box = Outbox(path)
    assert box.count() == 0
    box.close()


def test_quarantine_moves_the_file_and_its_wal_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "sql.sqlite3"
    for _ in range(2):
        path.write_bytes(b"garbage")
        path.with_name("sql.sqlite3-wal").write_bytes(b"wal")
        path.with_name("sql.sqlite3-shm").write_bytes(b"shm")
        moved = quarantine(path)
        assert not path.exists()
        assert not path.with_name("sql.sqlite3-shm").exists()
        assert moved.read_bytes() == b"garbage"
        assert moved.with_name(moved.name + "-wal").read_bytes() == b"wal"
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 4
    assert all(n.startswith("sql.sqlite3.corrupt-") for n in names)


async def test_a_sink_starts_on_a_corrupt_outbox_with_a_fresh_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "outbox" / "fake.sqlite3"
    path.parent.mkdir()
    path.write_bytes(b"\x00not a database\xff" * 1000)
    metrics = Metrics()
    target = FakeTarget()
    with caplog.at_level(logging.ERROR, logger="sinks.base"):
        async with FakeSink(target, path, batch_size=2, max_delay=60, metrics=metrics) as sink:
            assert sink.backlog == 0
            await sink.add_many(tasks(0, 2))
            await target.wait(lambda: target.written == ids(0, 2))
    moved = [p for p in path.parent.iterdir() if ".corrupt-" in p.name]
    assert len(moved) == 1
    assert moved[0].read_bytes().startswith(b"\x00not a database")
    assert any(str(path) in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    rebuilt = metrics.registry.get_sample_value("riskloop_store_rebuilt_total", {"store": "outbox"})
    assert rebuilt == 1
    assert Outbox(path).count() == 0


async def test_a_full_disk_at_start_is_not_taken_for_corruption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a file SQLite cannot read is moved aside; a disk that is merely full keeps it."""
    path = tmp_path / "o.sqlite3"
    a_filled_outbox(path, rows=3)

    def full(*_: object, **__: object) -> None:
        raise OutboxFull("cannot open the sink outbox: database or disk is full")

    sink = FakeSink(FakeTarget(), path)
    monkeypatch.setattr("sinks.base.Outbox", full)
    with pytest.raises(OutboxFull):
        await sink.start()
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["o.sqlite3"]
    await sink.start()  # room again: starts, with what the file held
    assert sink.backlog == 3
    await sink.stop()


async def test_the_outputs_wait_for_room_to_open_their_outboxes(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agents wait for ``WorkerSinks.start``: a full disk at start is waited out, reported on
    ``riskloop_storage_stalled{agent="outputs"}``, never a crashed start task."""
    from streams import worker_sinks as outputs_module
    from streams.worker_sinks import WorkerSinks

    metrics = Metrics()
    outputs = WorkerSinks(settings, metrics)
    real, refusals, stalled = Outbox, [2], []

    def full_twice(*args: object, **kwargs: object) -> Outbox:
        if refusals[0]:
            refusals[0] -= 1
            raise OutboxFull("cannot open the sink outbox: database or disk is full")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    async def no_sleep(_: float) -> None:
        stalled.append(metrics.registry.get_sample_value(STALLED, {"agent": "outputs"}))

    monkeypatch.setattr("sinks.base.Outbox", full_twice)
    monkeypatch.setattr(outputs_module.asyncio, "sleep", no_sleep)
    await outputs.start()
    monkeypatch.undo()
    assert stalled == [1.0, 1.0]
    assert metrics.registry.get_sample_value(STALLED, {"agent": "outputs"}) == 0
    assert (settings.data_dir / "outbox" / "sql.sqlite3").exists()
    await outputs.stop()
