"""The evidence store: files kept once on a local disk, named by their SHA-256.

Content addressing makes the store simple and honest: the same photo sent twice is kept once,
a file can never be replaced behind a reference (its name is its hash, and a read checks it
again), and a disposition needs to carry only ``sha256:<hex>/<name>``
(:class:`schemas.evidence.EvidenceRef`). Files are written to a temporary name in the same
folder and renamed into place, so a reader never sees half a file, and a crash leaves only a
temporary file behind. Layout: ``<dir>/<hex[:2]>/<hex>`` (no folder of a million files).

The store never runs a file or serves it as anything but what its bytes are: the media type is
read from the bytes again on every read (:func:`schemas.evidence.media_type`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from schemas.evidence import EvidenceRef, EvidenceRefused, check, media_type
from sinks.errors import SinkError

if TYPE_CHECKING:
    from config.settings import Settings


class EvidenceMissing(SinkError):
    """No stored file has this hash (never uploaded here, or the store's disk was replaced)."""


class EvidenceCorrupt(SinkError):
    """A stored file's bytes no longer hash to its name: it is not served."""


@dataclass(frozen=True)
class StoredFile:
    """A file read back from the store, checked against its hash."""

    sha256: str
    media_type: str
    data: bytes


class EvidenceStore:
    """Files on a local disk under ``root``, at most ``max_bytes`` each."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root, self.max_bytes = root, max_bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> EvidenceStore:
        """The store the settings name: ``evidence_dir``, at most ``evidence.max_bytes`` a file."""
        return cls(settings.evidence_dir, settings.evidence.max_bytes)

    def put(self, filename: str, data: bytes) -> EvidenceRef:
        """Keep ``data`` (EvidenceRefused if it is no file evidence may be); its reference."""
        name, _ = check(filename, data, self.max_bytes)
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.chmod(tmp, 0o440)  # never executable, never rewritten in place
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return EvidenceRef(digest, name)

    def get(self, sha256: str) -> StoredFile:
        """The file named ``sha256``, its bytes checked against it."""
        path = self._path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise EvidenceMissing(f"no evidence file sha256:{sha256} in this store") from exc
        if hashlib.sha256(data).hexdigest() != sha256:
            raise EvidenceCorrupt(f"evidence file sha256:{sha256} no longer matches its hash")
        kind = media_type(data[:16])
        if kind is None:  # only a file check() took can be here, unless the disk was altered
            raise EvidenceCorrupt(f"evidence file sha256:{sha256} is not a kind the store keeps")
        return StoredFile(sha256, kind, data)

    def _path(self, sha256: str) -> Path:
        ref = EvidenceRef.parse(f"sha256:{sha256}")
        if ref is None:  # a path parameter: never let it name ../ or anything but a hash
            raise EvidenceRefused("an evidence hash is 64 lower-case hex digits")
        return self.root / sha256[:2] / sha256
