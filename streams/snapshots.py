"""Model snapshots of a worker: restored on start, saved now and then and at shutdown.

Why: an online model needs hundreds of events per unit before it may alert (warm-up); a worker
that restarted from nothing would stay silent that long. So the worker restores each model from
its newest snapshot in the SQL store *before* any agent scores an event (synchronously, in
``make_worker``, so no event meets a fresh model first), saves every model every
``settings.snapshot_interval`` seconds, and once more when it stops cleanly.

Consistency: a snapshot is pickled on the event loop, between two events, so every model and
the offsets it records (``Runtime.offsets`` + 1: the next offset to read) agree. Only the SQL
write runs in a thread, so the loop never waits on the database. A failed write is logged and
retried at the next interval: a lost snapshot costs a longer warm-up, never data.

Trust: a snapshot is pickled, so unpickling one runs code. Every snapshot is signed with an
HMAC key (:func:`snapshot_key`) and one that does not verify is refused (logged; the model starts
fresh), so write access to the SQL snapshot table is not enough to run code in a worker.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config.settings import Settings
from models.snapshot import read_header
from schemas.errors import ConfigError, RiskLoopError
from sinks.migrate import migrate
from sinks.sql import SqlStore
from streams.logs import get_logger

if TYPE_CHECKING:
    from streams.app import RiskLoopApp

log = get_logger(__name__)

KEY_FILE = "snapshot.key"


def snapshot_key(settings: Settings) -> bytes:
    """The HMAC key that signs and verifies this worker's model snapshots.

    ``settings.snapshot_key`` if set (what several workers sharing one SQL store need: the same
    secret on each). Otherwise a random 32-byte key kept in ``data_dir/snapshot.key``, created
    with mode 0600 on first start, so one worker keeps its snapshots across restarts without
    configuration; another worker with another data dir refuses them and starts fresh.
    """
    if settings.snapshot_key is not None and settings.snapshot_key.get_secret_value():
        return settings.snapshot_key.get_secret_value().encode()
    return _key_file(Path(settings.data_dir) / KEY_FILE)


def _key_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes().strip()
        if len(key) < 32:
            raise ConfigError(
                f"snapshot key file {path} is shorter than 32 bytes; delete it (snapshots signed "
                "with it will be refused) or set RISKLOOP_SNAPSHOT_KEY"
            ) from None
        return key
    key = secrets.token_hex(32).encode()
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    log.info("snapshot key created", path=str(path))
    return key


def next_offsets(last_read: Mapping[str, int]) -> dict[str, int]:
    """``topic:partition`` → next offset to read, from the last offset read per partition.

    >>> next_offsets({"equipment.readings:0": 41})
    {'equipment.readings:0': 42}
    """
    return {tp: offset + 1 for tp, offset in last_read.items()}


class ModelSnapshots:
    """Restores and saves the models of one worker through one :class:`SqlStore`."""

    def __init__(self, app: RiskLoopApp, store: SqlStore, key: bytes) -> None:
        self.app = app
        self.store = store
        self.key = key
        self.saved_at_change = -1  # WorkerModels.changes when last saved (or restored)

    @property
    def models(self) -> Any:
        return self.app.riskloop_runtime.models

    def restore(self) -> dict[str, dict[str, int]]:
        """Restore every model that has a snapshot; model name → the offsets it had seen.

        Blocking SQL on purpose: it runs before the worker starts, so before any agent scores.
        """
        migrate(self.store.engine)
        restored: dict[str, dict[str, int]] = {}
        for name in self.models.registry.names():
            stored = self.store.latest_snapshot(name)
            if stored is None:
                continue
            header = self.models.restore(name, stored.state, key=self.key)
            if header is not None:
                restored[name] = header.offsets
                log.info("model restored", model=name, version=header.version,
                         taken_at=header.taken_at.isoformat(), offsets=header.offsets)  # fmt: skip
        self.saved_at_change = self.models.changes
        return restored

    async def save(self) -> int:
        """Snapshot every model if any changed since the last save; how many rows were written."""
        models = self.models
        if models.changes == self.saved_at_change:
            return 0
        changes = models.changes
        blobs = models.snapshot(next_offsets(self.app.riskloop_runtime.offsets), key=self.key)
        written = 0
        for name, blob in blobs.items():
            header, _ = read_header(blob)
            try:
                await asyncio.to_thread(
                    self.store.save_snapshot,
                    name, header.version, header.content_hash, header.offsets, blob,
                )  # fmt: skip
            except RiskLoopError as exc:
                log.warning("model snapshot not saved; retrying next interval", model=name,
                            error=str(exc))  # fmt: skip
                return written
            written += 1
        self.saved_at_change = changes
        return written


def install(app: RiskLoopApp) -> ModelSnapshots | None:
    """Restore the models now; save them every ``snapshot_interval`` and at shutdown."""
    if app.riskloop_runtime.models is None:
        return None
    settings = app.riskloop_settings
    snaps = ModelSnapshots(app, SqlStore.from_settings(settings), snapshot_key(settings))
    snaps.restore()

    @app.timer(settings.snapshot_interval, name="model-snapshots")
    async def save_model_snapshots() -> None:
        await snaps.save()

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def save_models_at_shutdown(app_: Any, **_: Any) -> None:
        try:
            await snaps.save()
        finally:
            snaps.store.close()

    return snaps
