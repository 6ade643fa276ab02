"""The key that signs the models' snapshots (streams/model_state.py writes them to the
partition changelog at each checkpoint, with the offsets they had absorbed).

Trust: a snapshot is pickled, so unpickling one runs code. Every snapshot is signed with an
HMAC key (:func:`snapshot_key`) and one that does not verify is refused (logged; the model starts
fresh), so write access to the changelog topic is not enough to run code in a worker.

(Until issue #16 the models were per worker and saved to the SQL store every
``snapshot_interval``; the changelog replaced that: a snapshot there is committed by the same
marker as the partition's offsets, so a restart neither loses nor repeats what was learnt.)
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from schemas.errors import ConfigError
from streams.logs import get_logger

if TYPE_CHECKING:
    from config.settings import Settings

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
