"""The durable outbox: a local SQLite journal of every record a sink has accepted.

Why: a sink acknowledges a record (its ``add`` returns, so the agent moves on and Faust may
commit the source offset) *before* the target has it. Without a durable copy, a worker that
restarts while PostgreSQL or Redis is down would lose whatever it held in memory. So ``add``
appends here first, and only a successful write to the target removes rows (``ack``).

Rows carry a monotonically increasing ``seq`` (``AUTOINCREMENT``: never reused, even after
deletes), so a replay on start reads them back in exactly the order they were accepted.

The file is per sink and per worker (``<data_dir>/outbox/<sink>.sqlite3``): it is local state,
like Faust's RocksDB tables, not a shared queue.

>>> import tempfile, pathlib
>>> box = Outbox(pathlib.Path(tempfile.mkdtemp()) / "demo.sqlite3")
>>> box.append_many([("Task", '{"a": 1}'), ("Task", '{"a": 2}')])
[1, 2]
>>> box.ack(1); [row.payload for row in box.read()]
['{"a": 2}']
>>> box.close()
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, NamedTuple

from sinks.errors import OutboxError

Durability = Literal["FULL", "NORMAL"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    kind    TEXT NOT NULL,
    payload TEXT NOT NULL
)
"""


class OutboxRow(NamedTuple):
    """One journalled record: its position, its type name and its JSON."""

    seq: int
    kind: str
    payload: str


class Outbox:
    """An append-only journal with in-order reads and prefix deletes.

    ``durability="FULL"`` (default) fsyncs every append, so a record survives a power cut once
    ``append`` returns; ``"NORMAL"`` (WAL) survives a process crash or kill — the case of a
    worker restart — and is much faster on slow disks.
    """

    def __init__(self, path: Path, durability: Durability = "FULL") -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={durability}")
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise OutboxError(f"cannot open the sink outbox {path}: {exc}") from exc

    def append_many(self, rows: Iterable[tuple[str, str]]) -> list[int]:
        """Journal ``(kind, payload)`` rows in one transaction; their seqs, in order."""
        seqs: list[int] = []
        try:
            with self._transaction():
                for kind, payload in rows:
                    cur = self._db.execute(
                        "INSERT INTO outbox (kind, payload) VALUES (?, ?)", (kind, payload)
                    )
                    seqs.append(int(cur.lastrowid or 0))
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot append to the sink outbox {self.path}: {exc}") from exc
        return seqs

    def read(self, after: int = 0, limit: int = 1_000_000) -> list[OutboxRow]:
        """Rows with ``seq > after``, oldest first."""
        try:
            cur = self._db.execute(
                "SELECT seq, kind, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, limit),
            )
            return [OutboxRow(*row) for row in cur.fetchall()]
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot read the sink outbox {self.path}: {exc}") from exc

    def ack(self, upto: int) -> None:
        """Forget every row with ``seq <= upto``: the target has them."""
        try:
            with self._transaction():
                self._db.execute("DELETE FROM outbox WHERE seq <= ?", (upto,))
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot trim the sink outbox {self.path}: {exc}") from exc

    def count(self) -> int:
        """Rows not yet acknowledged."""
        return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def _transaction(self) -> _Tx:
        return _Tx(self._db)


class _Tx:
    """BEGIN IMMEDIATE … COMMIT/ROLLBACK (autocommit connection, explicit transactions)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
