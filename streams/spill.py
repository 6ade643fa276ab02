"""Where a partition's cold values are kept: a SQLite file per partition, not the heap.

Why: cold values held as their packed changelog bytes in memory (streams/hot.py) still grow
with every entity a worker has ever seen (~0.6 KB of bytes and ~0.1 KB of objects per value;
issue #16, README "Memory"). Here the bytes go to a file under the worker's data dir, and the
store keeps only the key and :data:`SPILLED` in its place. The file is a cache of the
changelog, never a second source of truth: it is made empty when the partition is taken
(restore, rebalance, a start after a crash) and deleted when the partition goes, so it needs
no journal, no fsync and no recovery (``journal_mode=OFF``, ``synchronous=OFF``). Kafka
Streams keeps its state in RocksDB under ``state.dir`` for the same reason; stdlib
:mod:`sqlite3` needs no new dependency, and its page cache (:data:`CACHE_KIB`) is the only
memory it keeps.

A write that fails (a full disk) keeps the values in memory as bytes, as before this module:
the worker goes on, using more memory, and says so in its log. So does a file that cannot be
made (:meth:`SpillFile.open` answers None): a partition taken while the disk is full — a restore
after a rebalance, with the disk filled meanwhile — keeps its cold values in memory, and the store
tries to make the file again at the next spill (streams/state.py). Before, the restore raised
on a full disk and crashed the worker: most likely the CI failure of 2026-12-06. A key deleted or stored again
leaves its old row until it goes cold again (replaced) or the partition moves (the file goes):
at most one row per key the partition has held, on disk, never read (the store reads a row
only for a key that holds :data:`SPILLED`).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from streams.logs import get_logger
from streams.packing import Cold

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

log = get_logger(__name__)

CACHE_KIB = 512
"""SQLite's page cache per partition file, KiB (its default is 2,000)."""


@dataclass(frozen=True, slots=True, repr=False)
class _Spilled(Cold):
    """The type of :data:`SPILLED`: a cold value whose bytes are elsewhere (one object: the
    store holds no per-value object for it)."""

    def value(self) -> Any:
        """Never: the store reads the bytes from the spill file first."""
        raise RuntimeError("a spilled value is read from its partition's spill file")

    def __repr__(self) -> str:
        return "SPILLED"


SPILLED: Cold = _Spilled(b"", 0)
"""What the store holds for a value whose bytes are in its partition's spill file: still a
:class:`~streams.packing.Cold` (the value is cold; only where its bytes are differs)."""


class SpillFile:
    """One partition's cold values on disk: ``(table, key) → (bytes, JSON length)``."""

    def __init__(self, path: Path) -> None:
        """Make the file (raises ``OSError`` or ``sqlite3.Error``; :meth:`open` does not)."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)  # a file left by a crash is stale: the changelog rebuilds it
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            for pragma in (
                "journal_mode=OFF",
                "synchronous=OFF",
                "locking_mode=EXCLUSIVE",
                f"cache_size=-{CACHE_KIB}",
            ):
                self._db.execute(f"PRAGMA {pragma}")
            self._db.execute(
                "CREATE TABLE cold (tbl TEXT NOT NULL, key TEXT NOT NULL, data BLOB NOT NULL,"
                " size INTEGER NOT NULL, PRIMARY KEY (tbl, key))"
            )
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(cls, path: Path, quiet: bool = False) -> SpillFile | None:
        """A new spill file at ``path``, or None (logged unless ``quiet``) when it cannot be
        made — a full disk: the caller keeps the cold values in memory and may try again."""
        try:
            return cls(path)
        except (OSError, sqlite3.Error) as exc:
            if not quiet:
                log.warning(
                    "no spill file; cold values kept in memory", path=str(path), error=str(exc)
                )
            return None

    def write(self, rows: Iterable[tuple[str, str, Cold]]) -> bool:
        """Store ``rows`` (a later row of a key replaces the earlier); False if the file could
        not take them (nothing of them is then stored)."""
        try:
            with closing(self._db.cursor()) as cur:
                cur.execute("BEGIN")
                try:
                    cur.executemany(
                        "INSERT OR REPLACE INTO cold VALUES (?, ?, ?, ?)",
                        ((t, k, c.data, c.size) for t, k, c in rows),
                    )
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
                cur.execute("COMMIT")
        except sqlite3.Error as exc:
            log.warning("cold values kept in memory", path=str(self.path), error=str(exc))
            return False
        return True

    def read(self, table: str, key: str) -> Cold:
        """The bytes stored for ``key`` (``KeyError`` when none are: the store's bug)."""
        row = self._db.execute(
            "SELECT data, size FROM cold WHERE tbl = ? AND key = ?", (table, key)
        ).fetchone()
        if row is None:
            raise KeyError(f"{table}:{key} is not in {self.path}")
        return Cold(row[0], row[1])

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM cold").fetchone()[0])

    def close(self) -> None:
        """Close and delete the file (the partition left this worker)."""
        with suppress(sqlite3.Error):
            self._db.close()
        self.path.unlink(missing_ok=True)
